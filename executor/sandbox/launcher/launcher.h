/* The sandbox launcher: the helper, the init and the program child of one
 * sandbox, as a small binary the supervisor starts with posix_spawn.
 *
 *   supervisor --posix_spawn--> helper   main.c: cgroup, namespaces, waits
 *   helper     --fork---------> init     init.c: the view (view.c), reaps,
 *                                        reports (report.c)
 *   init       --fork---------> program  program.c: privileges dropped,
 *                                        waits for its run, then execs
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

/* report.c: frames as executor.messages reads them. */
extern int report_fd;
void report_failure(const char *step, const char *detail);
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
_Noreturn void program_main(const struct filter *filter);

#endif
