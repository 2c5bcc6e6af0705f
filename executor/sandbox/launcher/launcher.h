/* The sandbox launcher: the helper, the init and the program child of one
 * sandbox, as a small binary the supervisor starts with posix_spawn.
 *
 *   supervisor --posix_spawn--> helper   main.c: cgroup, namespaces, waits
 *   helper     --fork---------> init     init.c: the view (view.c), reaps,
 *                                        reports (report.c)
 *   init       --fork---------> program  program.c: privileges dropped,
 *                                        waits for its run, then execs
 *   program    --clone--------> feeder   warm.c: a pre-started
 *                                        interpreter's run, fed to it
 *
 * The same files, but main(), also make the zygote (zygote.c): a Python
 * extension whose started interpreter forks helpers, so that a program
 * child there is that interpreter, already started.
 *
 * The policy (which namespaces, the mount plan, the rlimit values, the
 * system-call filter) is decided by the Python modules of executor/sandbox
 * and arrives here as arguments and bytes; this binary only applies it, in
 * order, and fails closed: a failed step is reported with its name and the
 * program never starts. A binary rather than a forked copy of the
 * supervisor: no copy-on-write of a Python heap, three times per sandbox.
 */
#ifndef PLAYGROUND_LAUNCHER_H
#define PLAYGROUND_LAUNCHER_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* Descriptors the supervisor places before exec. */
enum {
    FD_REPORT = 3,  /* frames to the supervisor (report.c) */
    FD_UP = 4,      /* helper -> supervisor: unshared, then the init's pid */
    FD_DOWN = 5,    /* supervisor -> helper: ids mapped */
    FD_SOCKET = 6,  /* the hand-over socket (program.c) */
    FD_SECCOMP = 7, /* the compiled filter, read once at start */
    FD_FIRST_FREE = 8,
};

#define SANDBOX_ID 1000
#define WORK_DIR "/work"

/* What the supervisor sends on the hand-over socket (program.c). */
enum message {
    MESSAGE_RUN,      /* a run: exec it */
    MESSAGE_WARM,     /* an interpreter to start before its run (warm.c) */
    MESSAGE_WARM_RUN, /* the run for that interpreter */
};

/* A message as it is read: argv and env first, then files and rlimits. */
struct run {
    enum message kind;
    char **argv, **env;
    int stdio[3];     /* with MESSAGE_RUN and MESSAGE_WARM */
    unsigned char *cursor, *end; /* the part of the message not yet read */
};

struct file {
    char *name;
    uint32_t mode;
    const unsigned char *data;
    uint64_t size;
};

/* The kernel's struct sigaction (x86-64 and arm64 alike). */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

struct filter {
    void *code;
    size_t len; /* bytes: a multiple of 8 */
};

struct options {
    unsigned long namespaces;
    pid_t parent;
    int supervisor;   /* a pidfd of the parent, for the init's first check */
    char **cgroup_files; /* NULL-terminated */
    char **plan;         /* the view's steps, NULL-terminated (view.c) */
    struct filter filter;
    char *args;       /* argv's strings, overwritten once the plan is used */
    size_t args_len;
};

/* main.c */
int helper_main(int argc, char **argv);
/* Where /proc/PID/cmdline reads from, when not from argv (a zygote's fork;
 * the init blanks it). NULL otherwise. */
extern char *process_args;
extern size_t process_args_len;

/* report.c: frames as executor.messages reads them. */
extern int report_fd;
void report_failure(const char *step, const char *detail);
void report_started(void);
void report_exited(int wait_status, long init_cpu_ms, long children_cpu_ms,
                   long children_peak_bytes);
_Noreturn void fail(const char *step, const char *what);
_Noreturn void fail_errno(const char *step, const char *what);
void write_all(int fd, const void *data, size_t len, const char *step);

/* view.c */
void view_apply(char **plan);

/* init.c */
_Noreturn void init_main(const struct options *options);

/* program.c */
void default_signals(void);
/* Set in a zygote's fork (zygote.c): takes a warm-up meant for the started
 * interpreter and never returns; returns at once for any other. */
extern void (*zygote_warm)(struct run *warm, const struct filter *filter,
                           int to_init);
_Noreturn void program_main(const struct filter *filter, int to_init);
void receive(struct run *run);
void check_name(const char *name);
void write_files(struct run *run, const char *kept, struct file *kept_file);
void apply_rlimits(struct run *run, pid_t pid);
void arrange_fds(const int stdio[3]);
void load_filter(const struct filter *filter);
_Noreturn void exec_program(char **argv, char **env);

/* warm.c */
int same_strings(char **one, char **other);
_Noreturn void warm_main(struct run *warm, const struct filter *filter, int to_init);

#endif
