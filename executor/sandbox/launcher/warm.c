/* A pre-started interpreter: a pooled sandbox runs its interpreter before
 * its run exists, so that a run only waits for its own program.
 *
 * The warm-up message gives the run's exact argv (the interpreter and
 * "./NAME", its program), environment and stdio. Its program is a FIFO at
 * /work/NAME, which the interpreter reads as it would that run's file. The
 * program child opens the FIFO first and gives it to the init, which holds
 * it until the feeder has ended. The feeder, the program child's sibling,
 * holds the hand-over socket:
 *
 *   the interpreter opens the FIFO (inotify) -> "W"
 *   -> the run (its argv and env must be the warm-up's) -> files
 *   -> rlimits (on the interpreter) -> seccomp
 *   -> the program file in place of the FIFO -> "started" (the interpreter
 *   is still alive) -> its bytes down the FIFO
 *   -> exit; the init reaps it and closes the FIFO: end of the program
 *
 * The interpreter then runs its program as one started for this run would:
 * the same argv, environment, file and uid, under the same filter, with no
 * process of the launcher's left in the sandbox but the init. A feeder that
 * fails has written nothing down the FIFO, and the init kills the
 * interpreter; signals for the program wait in the init until the FIFO is
 * closed (init.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

/* The program's name in /work: argv is exactly {interpreter, "./NAME"}. */
static const char *program_name(char **argv)
{
    if (argv[0] == NULL || argv[1] == NULL || argv[2] != NULL
        || strncmp(argv[1], "./", 2) != 0 || strchr(argv[1] + 2, '/') != NULL)
        fail("warm", "malformed: argv is not an interpreter and ./NAME");
    check_name(argv[1] + 2);
    return argv[1] + 2;
}

int same_strings(char **one, char **other)
{
    for (; *one && *other; one++, other++)
        if (strcmp(*one, *other) != 0)
            return 0;
    return *one == NULL && *other == NULL;
}

static void send_fd(int to, int fd)
{
    char byte = 'F', control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    if (sendmsg(to, &msg, 0) != 1)
        fail_errno("warm", "give the FIFO to the init");
}

/* An interpreter that died while it waited in the pool is a zombie until
 * the init reaps it: the run then fails as a step, never as its program. */
static void check_alive(pid_t interpreter)
{
    char path[64], stat[512], *end;
    ssize_t len;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)interpreter);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    len = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
    if (fd >= 0)
        close(fd);
    stat[len > 0 ? len : 0] = '\0';
    end = strrchr(stat, ')');
    if (end == NULL || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X')
        fail("hand-over", "the interpreter ended before its program reached it");
}

/* The program file takes the FIFO's name before the interpreter has read
 * its program, so that a traceback or `open(__file__)` finds a file. */
static void put_program(const char *path, const struct file *program)
{
    char *temporary;
    int fd;

    if (program->name == NULL)
        fail("files", "the run has no file for its interpreter's program");
    if (asprintf(&temporary, "%s/.warm-XXXXXX", WORK_DIR) < 0)
        fail("files", "out of memory");
    fd = mkstemp(temporary);
    if (fd < 0 || fchmod(fd, (mode_t)(program->mode & 0777)) != 0)
        fail_errno("files", temporary);
    write_all(fd, program->data, (size_t)program->size, "files");
    close(fd);
    if (rename(temporary, path) != 0)
        fail_errno("files", path);
}

/* Until the interpreter opens its program it may still fail to start: the
 * pool counts the sandbox ready only after that.
 * Known gap: an interpreter that neither opens its program nor exits keeps
 * its sandbox, unready, in the pool until the supervisor stops (Python
 * always opens it, or fails and exits). */
static void wait_for_interpreter(int watch)
{
    static const char waiting = 'W';
    char event[sizeof(struct inotify_event) + NAME_MAX + 1];

    if (read(watch, event, sizeof event) <= 0)
        fail_errno("warm", "inotify");
    close(watch);
    write_all(FD_SOCKET, &waiting, 1, "warm");
}

static _Noreturn void feed(struct run *warm, const char *path, int fifo, int watch,
                           pid_t interpreter, const struct filter *filter)
{
    struct file program = {NULL, 0, NULL, 0};
    struct run run;

    /* Its parent is the init (CLONE_PARENT), which reaps it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("warm", "pdeathsig");
    for (int i = 0; i < 3; i++)
        close(warm->stdio[i]);
    wait_for_interpreter(watch);

    receive(&run);
    close(FD_SOCKET);
    if (run.kind != MESSAGE_WARM_RUN || !same_strings(run.argv, warm->argv)
        || !same_strings(run.env, warm->env))
        fail("hand-over", "the run is not the one its interpreter started for");
    write_files(&run, program_name(run.argv), &program);
    apply_rlimits(&run, interpreter);
    load_filter(filter);
    put_program(path, &program);
    check_alive(interpreter);
    report_started();
    write_all(fifo, program.data, (size_t)program.size, "files");
    _exit(0);
}

_Noreturn void warm_main(struct run *warm, const struct filter *filter, int to_init)
{
    const char *name = program_name(warm->argv);
    pid_t interpreter = getpid(), feeder;
    int fifo, watch;
    char *path;

    if (asprintf(&path, "%s/%s", WORK_DIR, name) < 0)
        fail("warm", "out of memory");
    if (mkfifo(path, 0600) != 0)
        fail_errno("warm", path);
    /* Read and write: opening never waits for the other side. */
    fifo = open(path, O_RDWR | O_CLOEXEC);
    if (fifo < 0)
        fail_errno("warm", path);
    send_fd(to_init, fifo);
    close(to_init);
    watch = inotify_init1(IN_CLOEXEC);
    if (watch < 0 || inotify_add_watch(watch, path, IN_OPEN) < 0)
        fail_errno("warm", "inotify");
    feeder = (pid_t)syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
    if (feeder < 0)
        fail_errno("warm", "clone the feeder");
    if (feeder == 0)
        feed(warm, path, fifo, watch, interpreter, filter);

    close(FD_SOCKET);
    arrange_fds(warm->stdio);
    load_filter(filter);
    exec_program(warm->argv, warm->env);
}
