/* The helper: the supervisor's child that makes the sandbox's namespaces.
 *
 *   argv: launcher NAMESPACES PARENT_PID CGROUP_FILE... -- PLAN...
 *   or:   launcher zygote PLAN... -- INTERPRETER ARGS...   (see zygote_exec)
 *
 * Steps, in order: die with the supervisor; read the filter; join the
 * cgroup; unshare every namespace; let the supervisor write the id maps;
 * start the init (pid 1 of the new pid namespace) as the supervisor's own
 * child (CLONE_PARENT), and exit. The init's parent-death signal is then the
 * supervisor's death, and a run's end wakes one process fewer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

static const char UNSHARED = 'U', MAPPED = 'M';

char *process_args;
size_t process_args_len;

static void parse(int argc, char **argv, struct options *options)
{
    int plan_at = 3;

    if (argc < 4)
        fail("arguments", "usage: launcher NAMESPACES PARENT CGROUP... -- PLAN...");
    options->namespaces = strtoul(argv[1], NULL, 0);
    options->parent = (pid_t)strtol(argv[2], NULL, 10);
    options->args = argv[0];
    options->args_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
    while (plan_at < argc && strcmp(argv[plan_at], "--") != 0)
        plan_at++;
    if (plan_at == argc)
        fail("arguments", "no -- before the view's plan");
    argv[plan_at] = NULL;
    if (process_args != NULL) { /* a zygote's fork: its argv is elsewhere */
        options->args = process_args;
        options->args_len = process_args_len;
    }
    options->cgroup_files = argv + 3;
    options->plan = argv + plan_at + 1;
}

static void read_filter(struct filter *filter)
{
    struct stat info;

    if (fstat(FD_SECCOMP, &info) != 0 || info.st_size <= 0 || info.st_size % 8)
        fail("seccomp", "no compiled filter on descriptor 7");
    /* The count travels as an unsigned short: a longer filter would load
     * as a prefix of itself, which may allow what the rest denies. */
    if (info.st_size / 8 > BPF_MAXINSNS)
        fail("seccomp", "the filter is longer than the kernel accepts");
    filter->len = (size_t)info.st_size;
    filter->code = malloc(filter->len);
    if (filter->code == NULL)
        fail("seccomp", "out of memory");
    if (pread(FD_SECCOMP, filter->code, filter->len, 0) != (ssize_t)filter->len)
        fail_errno("seccomp", "read the filter");
    close(FD_SECCOMP);
}

static void join_cgroup(char **files)
{
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d", getpid());

    for (; *files; files++) {
        int fd = open(*files, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            fail_errno("cgroup", *files);
        write_all(fd, pid, (size_t)len, "cgroup");
        close(fd);
    }
    /* A zygote's program child inherits this stack: no host pid on it. */
    explicit_bzero(pid, sizeof pid);
}

static void wait_for_map(void)
{
    char answer = 0;

    write_all(FD_UP, &UNSHARED, 1, "namespaces");
    if (read(FD_DOWN, &answer, 1) != 1 || answer != MAPPED)
        _exit(1); /* the supervisor gave up on this sandbox */
}

/* Like fork, but the child's parent is the supervisor, which reaps it. */
static pid_t clone_sibling(void)
{
    return (pid_t)syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
}

static _Noreturn void start_init(struct options *options)
{
    uint64_t pid_bytes;
    pid_t init;

    /* The init checks this once its parent-death signal is armed: a
     * supervisor gone before then would otherwise leave it running. */
    options->supervisor = (int)syscall(SYS_pidfd_open, options->parent, 0);
    if (options->supervisor < 0)
        fail_errno("fork init", "pidfd_open");
    options->parent = 0; /* a host pid: see join_cgroup */
    init = clone_sibling();
    if (init < 0)
        fail_errno("fork init", "clone");
    if (init == 0) {
        close(FD_UP);
        close(FD_DOWN);
        init_main(options);
    }
    pid_bytes = (uint64_t)init; /* little-endian on every host we run on */
    write_all(FD_UP, &pid_bytes, sizeof pid_bytes, "fork init");
    _exit(0);
}

#ifndef PLAYGROUND_ZYGOTE
enum { ZYGOTE_FDS = 6 }; /* executor/sandbox/zygote.py gives it 0 to 5 */

/* A zygote (zygote.c) starts from here: its interpreter must find, as it
 * starts, what a sandbox's would (no /etc of the host's, an empty /work),
 * so it runs in a mount namespace of its own, made by PLAN. */
static _Noreturn void zygote_exec(int argc, char **argv)
{
    extern char **environ;
    int split = 2;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("pdeathsig", "prctl");
    while (split < argc && strcmp(argv[split], "--") != 0)
        split++;
    if (split + 1 >= argc)
        fail("arguments", "usage: launcher zygote PLAN... -- INTERPRETER ARGS...");
    argv[split] = NULL;
    /* The interpreter keeps only what it was given, on 0 to ZYGOTE_FDS - 1
     * (stdio, the report pipe, its library, its socket): none of the
     * supervisor's own descriptors, such as its control socket. */
    if (syscall(SYS_close_range, ZYGOTE_FDS, ~0U, 0) != 0)
        fail_errno("fds", "close_range");
    default_signals(); /* as a sandbox's program child starts it */
    if (unshare(CLONE_NEWNS) != 0)
        fail_errno("zygote", "unshare");
    view_apply(argv + 2);
    /* Its end tells the supervisor that the interpreter is on its way. */
    if (fcntl(FD_REPORT, F_SETFD, FD_CLOEXEC) != 0)
        fail_errno("zygote", "the report pipe");
    execve(argv[split + 1], argv + split + 1, environ);
    fail_errno("zygote", argv[split + 1]);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "zygote") == 0)
        zygote_exec(argc, argv);
    return helper_main(argc, argv);
}
#endif

int helper_main(int argc, char **argv)
{
    struct options options;

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("pdeathsig", "prctl");
    for (int fd = 0; fd < 3; fd++)
        close(fd); /* nothing of the host reaches the sandbox */
    parse(argc, argv, &options);
    if (getppid() != options.parent)
        _exit(1); /* the supervisor died before the signal was armed */
    if (syscall(SYS_close_range, FD_FIRST_FREE, ~0U, 0) != 0)
        fail_errno("fds", "close_range");
    read_filter(&options.filter);

    join_cgroup(options.cgroup_files);
    if (unshare((int)options.namespaces) != 0)
        fail_errno("namespaces", "unshare");
    wait_for_map();
    start_init(&options);
}
