/* A pre-started interpreter: a pooled sandbox runs its interpreter before
 * its run exists, so that a run only waits for its own program.
 *
 * The warm-up message gives the run's exact argv (the interpreter and
 * "./NAME", its program), environment and stdio. Its program is a FIFO at
 * /work/NAME: the interpreter starts up as it would for that run and blocks
 * opening or reading it. A feeder, the program child's sibling, holds the
 * hand-over socket:
 *
 *   open the FIFO (the interpreter has reached its program) -> "W"
 *   -> the run (its argv and env must be the warm-up's) -> files
 *   -> rlimits (on the interpreter) -> seccomp
 *   -> the program file in place of the FIFO -> its bytes down the FIFO
 *
 * The interpreter reads its program to the end of the FIFO, which comes when
 * the feeder exits, and runs it as a program started for this run would:
 * the same argv, environment, file and uid, under the same filter.
 *
 * Known gap: the feeder counts against the run's process limits until the
 * init has reaped it, a moment after the program's first line; a program
 * that forks to its very limit at once may find one process fewer.
 */
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

static int same_strings(char **one, char **other)
{
    for (; *one && *other; one++, other++)
        if (strcmp(*one, *other) != 0)
            return 0;
    return *one == NULL && *other == NULL;
}

/* The program file takes the FIFO's name before the interpreter has read
 * its program, so that a traceback or `open(__file__)` finds a file. */
static void put_program(const char *path, const struct file *program, int fifo)
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
    write_all(fifo, program->data, (size_t)program->size, "files");
}

static _Noreturn void feed(struct run *warm, const char *path, pid_t interpreter,
                           const struct filter *filter)
{
    static const char waiting = 'W';
    struct file program = {NULL, 0, NULL, 0};
    struct run run;
    int fifo;

    /* Its parent is the init (CLONE_PARENT), which reaps it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("warm", "pdeathsig");
    for (int i = 0; i < 3; i++)
        close(warm->stdio[i]);
    fifo = open(path, O_WRONLY | O_CLOEXEC);
    if (fifo < 0)
        fail_errno("warm", path);
    write_all(FD_SOCKET, &waiting, 1, "warm");

    receive(&run);
    close(FD_SOCKET);
    if (run.kind != MESSAGE_WARM_RUN || !same_strings(run.argv, warm->argv)
        || !same_strings(run.env, warm->env))
        fail("hand-over", "the run is not the one its interpreter started for");
    write_files(&run, program_name(run.argv), &program);
    apply_rlimits(&run, interpreter);
    load_filter(filter);
    put_program(path, &program, fifo);
    _exit(0); /* closing the FIFO ends the interpreter's read */
}

_Noreturn void warm_main(struct run *warm, const struct filter *filter)
{
    const char *name = program_name(warm->argv);
    pid_t interpreter = getpid(), feeder;
    char *path;

    if (asprintf(&path, "%s/%s", WORK_DIR, name) < 0)
        fail("warm", "out of memory");
    if (mkfifo(path, 0600) != 0)
        fail_errno("warm", path);
    feeder = (pid_t)syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
    if (feeder < 0)
        fail_errno("warm", "clone the feeder");
    if (feeder == 0)
        feed(warm, path, interpreter, filter);

    close(FD_SOCKET);
    arrange_fds(warm->stdio);
    load_filter(filter);
    exec_program(warm->argv, warm->env);
}
