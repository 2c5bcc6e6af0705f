/* The helper: the supervisor's child that makes the sandbox's namespaces.
 *
 *   argv: launcher NAMESPACES PARENT_PID CGROUP_FILE... -- PLAN...
 *
 * Steps, in order: die with the supervisor; read the filter; join the
 * cgroup; unshare every namespace; let the supervisor write the id maps;
 * start the init (pid 1 of the new pid namespace) as the supervisor's own
 * child (CLONE_PARENT), and exit. The init's parent-death signal is then the
 * supervisor's death, and a run's end wakes one process fewer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
    options->cgroup_files = argv + 3;
    options->plan = argv + plan_at + 1;
}

static void read_filter(struct filter *filter)
{
    struct stat info;

    if (fstat(FD_SECCOMP, &info) != 0 || info.st_size <= 0 || info.st_size % 8)
        fail("seccomp", "no compiled filter on descriptor 7");
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

int main(int argc, char **argv)
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
