/* Pid 1 of a sandbox: builds the view, forks the program child, reaps
 * whatever ends in the namespace, forwards the supervisor's signals, and
 * reports the program's wait status. It is made non-dumpable before the
 * program exists, so the program cannot ptrace it or read its memory. When
 * the program ends the init reports and exits, and the kernel kills
 * whatever is left in the namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"

#define HOSTNAME "playground"

/* A pre-started interpreter's FIFO (warm.c): held open here until the
 * feeder has been reaped, so that the interpreter reads the end of its
 * program only once the feeder is gone. -1 otherwise. */
static int program_fifo = -1;
/* Signals for the program that wait for the FIFO to close: one could cut
 * the interpreter's read of its program short, so that it ran a part. */
static sigset_t held;

/* The signals a client may send its program, through the supervisor. */
static const int FORWARDED[] = {
    SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH,
};

static void waited_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++)
        sigaddset(set, FORWARDED[i]);
}

/* uid 0 of the sandbox where the map has one (root's supervisor gives the
 * init a host id of its own); an ordinary user's init stays uid 1000. */
static void become_init_user(void)
{
    FILE *map = fopen("/proc/self/uid_map", "re");
    unsigned long inside, outside, count;
    int has_root = 0;

    if (map == NULL)
        fail_errno("identity", "/proc/self/uid_map");
    while (fscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3)
        has_root |= inside == 0;
    fclose(map);
    if (has_root && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0))
        fail_errno("identity", "setresuid");
}

/* The program can read /proc/1/cmdline: it must say nothing of the host
 * (the launcher's path, the supervisor's pid, the view's plan). */
static void title(const struct options *options)
{
    memset(options->args, 0, options->args_len);
    memcpy(options->args, "init", options->args_len < 4 ? options->args_len : 4);
    if (prctl(PR_SET_NAME, "init") != 0)
        fail_errno("title", "prctl");
}

/* Die with the supervisor: armed, then checked, so that a supervisor that
 * died before the signal was armed is noticed too. */
static void die_with_supervisor(const struct options *options)
{
    struct pollfd gone = {options->supervisor, POLLIN, 0};

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("pdeathsig", "prctl");
    if (poll(&gone, 1, 0) != 0)
        _exit(1); /* exited, or no longer ours to watch */
}

static void prepare(const struct options *options)
{
    die_with_supervisor(options);
    become_init_user();
    /* Changing uid clears the parent-death signal: set it again. */
    die_with_supervisor(options);
    close(options->supervisor);
    view_apply(options->plan);
    title(options);
    if (sethostname(HOSTNAME, strlen(HOSTNAME)) != 0)
        fail_errno("hostname", "sethostname");
    if (prctl(PR_SET_DUMPABLE, 0) != 0)
        fail_errno("dumpable", "prctl");
}

static long cpu_ms(int who)
{
    struct rusage usage;

    getrusage(who, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000L
           + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000L;
}

/* The first other child to end, while the FIFO is held, is the feeder: the
 * program's own children exist only once it has read its program. A feeder
 * that failed (and reported why) must not leave the interpreter to run. */
static void feeder_ended(pid_t program, int status)
{
    if (program_fifo < 0)
        return;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        kill(program, SIGKILL);
    close(program_fifo);
    program_fifo = -1;
    for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++)
        if (sigismember(&held, FORWARDED[i]))
            kill(program, FORWARDED[i]);
}

static void forward(pid_t program, int signum)
{
    if (program_fifo >= 0)
        sigaddset(&held, signum);
    else
        kill(program, signum);
}

/* Reap what has ended; 1 (and the status) once the program has. */
static int reap(pid_t program, int *status)
{
    for (;;) {
        int one;
        pid_t pid = waitpid(-1, &one, WNOHANG);
        if (pid <= 0)
            return 0;
        if (pid == program) {
            *status = one;
            return 1;
        }
        feeder_ended(program, one);
    }
}

/* The program child sends a pre-started interpreter's FIFO, or nothing: its
 * end of the pair closes when it execs (or dies) either way. */
static int receive_fifo(int from_program)
{
    char byte, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cmsg;
    int fd = -1;

    if (recvmsg(from_program, &msg, MSG_CMSG_CLOEXEC) == 1) {
        cmsg = CMSG_FIRSTHDR(&msg);
        if (cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS
            && cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    }
    close(from_program);
    return fd;
}

static int wait_for(pid_t program, const sigset_t *waited)
{
    for (;;) {
        siginfo_t info;
        int status;

        if (sigwaitinfo(waited, &info) < 0)
            continue; /* EINTR */
        if (info.si_signo != SIGCHLD) {
            /* A sender outside this pid namespace shows as pid 0: only the
             * supervisor is forwarded, never the program signalling us. */
            if (info.si_pid == 0)
                forward(program, info.si_signo);
            continue;
        }
        if (reap(program, &status))
            return status;
    }
}

_Noreturn void init_main(const struct options *options)
{
    sigset_t waited;
    pid_t program;
    int pair[2];
    long cpu_base;
    int status;
    struct rusage children;

    prepare(options);
    /* Ignored, SIGCHLD would never arrive and the program's end go unseen. */
    if (signal(SIGCHLD, SIG_DFL) == SIG_ERR)
        fail_errno("signals", "SIGCHLD");
    waited_set(&waited);
    sigprocmask(SIG_BLOCK, &waited, NULL);
    sigemptyset(&held);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        fail_errno("fork", "socketpair");
    program = fork();
    if (program < 0)
        fail_errno("fork", "fork the program");
    if (program == 0) {
        close(pair[0]);
        program_main(&options->filter, pair[1]);
    }
    close(pair[1]);
    close(FD_SOCKET);
    free(options->filter.code);
    program_fifo = receive_fifo(pair[0]);

    /* What the init used until now is no part of the run's CPU time. */
    cpu_base = cpu_ms(RUSAGE_SELF);
    status = wait_for(program, &waited);
    getrusage(RUSAGE_CHILDREN, &children);
    report_exited(status, cpu_ms(RUSAGE_SELF) - cpu_base, cpu_ms(RUSAGE_CHILDREN),
                  children.ru_maxrss * 1024L);
    _exit(0);
}
