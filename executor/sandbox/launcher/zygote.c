/* The zygote: a Python interpreter started once, as a sandbox's program
 * would start it, that forks pooled sandboxes whose program child is that
 * interpreter. A run then skips the interpreter's start-up (most of a short
 * Python run's CPU time) and nothing else: every sandbox still takes every
 * isolation step, and no sandbox or process serves a second run.
 *
 *   supervisor --posix_spawn--> launcher zygote (main.c): a mount namespace
 *   in which the interpreter finds what a sandbox's would --exec--> python3
 *   -c BOOT: loads this module from a sealed memory file and calls serve()
 *
 *   serve(), per request (a launcher's argv and its five descriptors, see
 *   executor/sandbox/zygote.py): clone(CLONE_PARENT), so that the helper is
 *   the supervisor's child as a spawned launcher is, and helper_main() in it
 *   (main.c); its program child (program.c) calls zygote_warm() on its
 *   warm-up. If the warm-up is for this interpreter (the argv and
 *   environment it started for), the program child takes its run as
 *   warm.c's feeder would (files, rlimits, stdio, filter), then runs the
 *   program as `python3 ./NAME` would (Modules/main.c's steps for a file)
 *   and exits as it would. Any other warm-up goes on to warm.c.
 *
 * Compiled into a Python extension with the launcher's files (main.c's
 * main() left out), against the headers of the interpreter it loads into:
 * the module refuses any other version.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first, as Python asks; it defines _GNU_SOURCE */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#define REQUEST_BYTES (256 * 1024)
#define REQUEST_FDS 5 /* report, up, down, socket, filter: launcher.h */

/* Set in Python's run of a main module when KeyboardInterrupt escaped it:
 * then python3 ends by SIGINT (pycore_pylifecycle.h). */
extern int _Py_UnhandledKeyboardInterrupt;

/* A program's command line (/proc/PID/cmdline), as its argv fills it
 * exactly after exec. The init blanks the zygote's own, which it shows. */
static char command_line[4096];
static size_t command_line_len;

static int set_command_line(PyObject *argv)
{
    Py_ssize_t count = PyList_Check(argv) ? PyList_GET_SIZE(argv) : 0;

    command_line_len = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t len;
        const char *arg = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(argv, i), &len);
        if (arg == NULL || command_line_len + (size_t)len + 1 > sizeof command_line)
            return -1;
        memcpy(command_line + command_line_len, arg, (size_t)len + 1);
        command_line_len += (size_t)len + 1;
    }
    return count >= 2 ? 0 : -1;
}

/* Fields of /proc/self/stat, from field 3 (after the name) on. The text
 * (and the caller's fields, once used) are wiped: they hold the parent's
 * pid, the supervisor's in the zygote, which its forks' stacks inherit. */
static int read_stat(unsigned long long *fields, int count)
{
    char text[2048], *cursor;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC), n = 0;
    ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof text - 1);

    if (fd >= 0)
        close(fd);
    if (len <= 0)
        return -1;
    text[len] = '\0';
    cursor = strrchr(text, ')'); /* the name may hold spaces and parentheses */
    if (cursor == NULL)
        return -1;
    for (char *saved, *field = strtok_r(cursor + 1, " \n", &saved);
         field != NULL && n < count; field = strtok_r(NULL, " \n", &saved))
        fields[n++] = strtoull(field, NULL, 10); /* the state, a letter: 0 */
    explicit_bzero(text, sizeof text);
    return n == count ? 0 : -1;
}

#define FIELD(number) fields[(number) - 3]

/* The environment exec gave this process, from the kernel's copy. */
static char **exec_environment(void)
{
    static char text[65536];
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC), count = 0;
    ssize_t len = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    char **env;

    if (fd >= 0)
        close(fd);
    if (len < 0 || len == (ssize_t)sizeof text - 1)
        return NULL;
    for (ssize_t i = 0; i < len; i++)
        count += text[i] == '\0';
    env = calloc((size_t)count + 1, sizeof *env);
    for (ssize_t i = 0, n = 0; env && i < len; i += (ssize_t)strlen(text + i) + 1)
        env[n++] = text + i;
    return env;
}

static int find_process_args(void)
{
    unsigned long long fields[49];

    if (read_stat(fields, 49) != 0 || FIELD(49) <= FIELD(48))
        return -1;
    process_args = (char *)(uintptr_t)FIELD(48);
    process_args_len = (size_t)(FIELD(49) - FIELD(48));
    explicit_bzero(fields, sizeof fields);
    return 0;
}

/* The kernel's map of this process with the command line moved to
 * `command_line` (PR_SET_MM_MAP: no capability needed to move it). */
static int point_command_line(void)
{
    unsigned long long fields[49];
    struct prctl_mm_map map;

    if (read_stat(fields, 49) != 0)
        return -1;
    memset(&map, 0, sizeof map);
    map.start_code = FIELD(26);
    map.end_code = FIELD(27);
    map.start_stack = FIELD(28);
    map.start_data = FIELD(45);
    map.end_data = FIELD(46);
    map.start_brk = FIELD(47);
    map.brk = (uint64_t)syscall(SYS_brk, 0);
    map.arg_start = (uintptr_t)command_line;
    map.arg_end = (uintptr_t)command_line + command_line_len;
    map.env_start = FIELD(50);
    map.env_end = FIELD(51);
    map.exe_fd = (uint32_t)-1;
    explicit_bzero(fields, sizeof fields);
    return prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0);
}

/* The interpreter as it started: what a warm-up must match, and what its
 * program child restores. */
static struct {
    char **env; /* as exec gave it: Python may add to environ as it starts */
    struct kernel_sigaction actions[_NSIG];
    PyObject *main_names; /* __main__'s names before BOOT ran */
} started;

/* One request at a time, in one buffer, zeroed once a helper has its copy:
 * a program (whose memory is this process's) finds no other sandbox's
 * plan, nor its own. */
static char request[REQUEST_BYTES];

static void save_signal_actions(void)
{
    for (int signum = 1; signum < _NSIG; signum++)
        syscall(SYS_rt_sigaction, signum, NULL, &started.actions[signum],
                sizeof(uint64_t));
}

static void restore_signal_actions(void)
{
    for (int signum = 1; signum < _NSIG; signum++)
        if (signum != SIGKILL && signum != SIGSTOP
            && syscall(SYS_rt_sigaction, signum, &started.actions[signum], NULL,
                       sizeof(uint64_t)) != 0)
            fail_errno("zygote", "rt_sigaction");
}

/* --- the program child: a run for the started interpreter ------------- */

/* Whether the warm-up wants this interpreter: the argv and environment it
 * started for, its program ./NAME in /work. */
static int meant_for_us(struct run *warm)
{
    char **argv = warm->argv;
    size_t used = 0;

    if (argv[0] == NULL || argv[1] == NULL || argv[2] != NULL
        || strncmp(argv[1], "./", 2) != 0 || strchr(argv[1] + 2, '/') != NULL
        || !same_strings(warm->env, started.env))
        return 0;
    for (; *argv; argv++) {
        size_t len = strlen(*argv) + 1;
        if (used + len > command_line_len || memcmp(command_line + used, *argv, len))
            return 0;
        used += len;
    }
    return used == command_line_len;
}

/* What exec would have done to the process (before the filter): its name,
 * and dumpable again, as exec makes a program whose ids all agree (the
 * change to uid 1000 cleared it; the init stays non-dumpable). */
static void as_if_named(char **argv)
{
    const char *base = strrchr(argv[0], '/');

    explicit_bzero(request, sizeof request);
    if (prctl(PR_SET_NAME, base ? base + 1 : argv[0]) != 0)
        fail_errno("zygote", "prctl(PR_SET_NAME)");
    if (prctl(PR_SET_DUMPABLE, 1) != 0)
        fail_errno("zygote", "prctl(PR_SET_DUMPABLE)");
}

static void as_if_started(void)
{
    PyOS_AfterFork_Child();
    restore_signal_actions();
}

static int set_list(const char *name, char **items)
{
    PyObject *list = PyList_New(0);
    int failed = list == NULL;

    for (; !failed && *items; items++) {
        PyObject *item = PyUnicode_DecodeFSDefault(*items);
        failed = item == NULL || PyList_Append(list, item) != 0;
        Py_XDECREF(item);
    }
    failed = failed || PySys_SetObject(name, list) != 0;
    Py_XDECREF(list);
    return failed ? -1 : 0;
}

/* A new __main__ with the names the interpreter gave the first: BOOT's
 * frame (still running, this call) holds the first's dict, which Python's
 * exit would then never clear (no finalizer of the program's globals run,
 * none of its files flushed). */
static int new_main(void)
{
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyObject *first = PyImport_AddModule("__main__"); /* borrowed */
    PyObject *main = PyModule_New("__main__");
    PyObject *from = first ? PyModule_GetDict(first) : NULL; /* borrowed */
    int failed = main == NULL || from == NULL;

    for (Py_ssize_t i = 0; !failed && i < PyList_GET_SIZE(started.main_names); i++) {
        PyObject *name = PyList_GET_ITEM(started.main_names, i);
        PyObject *value = PyDict_GetItemWithError(from, name); /* borrowed */
        failed = value == NULL
                 || PyDict_SetItem(PyModule_GetDict(main), name, value) != 0;
    }
    failed = failed || PyDict_SetItemString(modules, "__main__", main) != 0;
    Py_XDECREF(main);
    return failed ? -1 : 0;
}

/* __main__ as the interpreter made it, this module out of sys.modules,
 * and no caller below the program's frame: BOOT's frame (still running,
 * this call) is neither the program's f_back nor counted in its depth. */
static int forget_zygote(void)
{
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    PyThreadState *tstate = PyThreadState_Get();
    int failed = new_main() != 0;

    failed = failed || PyDict_DelItemString(modules, "_playground_zygote") != 0;
    tstate->cframe->current_frame = NULL;
    tstate->recursion_remaining = tstate->recursion_limit;
    return failed ? -1 : 0;
}

/* sys.path[0] as Python computes it for a script: the directory of its
 * real path (pathconfig.c), in place of BOOT's "". */
static int set_path0(const char *script)
{
    char real[PATH_MAX], *slash;
    const char *path0 = realpath(script, real) ? real : script;
    PyObject *path = PySys_GetObject("path"), *entry; /* borrowed */
    Py_ssize_t len = 0;

    slash = strrchr(path0, '/');
    if (slash != NULL)
        len = slash + 1 - path0 > 1 ? slash - path0 : 1;
    entry = PyUnicode_DecodeFSDefaultAndSize(path0, len);
    if (entry == NULL || path == NULL || PyList_GET_SIZE(path) == 0
        || PyList_SetItem(path, 0, entry) != 0)
        return -1;
    return 0;
}

/* What python3 does with a script after its start-up (Modules/main.c:
 * pymain_run_python, pymain_run_file_obj and Py_RunMain), for a file that
 * is no import path entry. */
static _Noreturn void run_main(PyObject *filename, const char *program_name)
{
    PyCompilerFlags flags = _PyCompilerFlags_INIT;
    int exitcode = 1;
    FILE *file;

    if (Py_MakePendingCalls() != -1) {
        file = _Py_fopen_obj(filename, "rb");
        if (file == NULL) {
            PyErr_Clear();
            PySys_FormatStderr("%s: can't open file %R: [Errno %d] %s\n",
                               program_name, filename, errno, strerror(errno));
            exitcode = 2;
        } else {
            exitcode = _PyRun_AnyFileObject(file, filename, 1, &flags) != 0;
        }
    } else {
        PyErr_Print();
    }
    if (Py_FinalizeEx() < 0)
        exitcode = 120;
    if (_Py_UnhandledKeyboardInterrupt) {
        signal(SIGINT, SIG_DFL);
        kill(getpid(), SIGINT);
        exitcode = 128 + SIGINT;
    }
    exit(exitcode);
}

/* Python's part of the hand-over: sys.argv and the rest. The program's
 * file is one that Python would run as a script, or else (a zip file named
 * like a script: an import path entry) the interpreter is exec'd anew. */
static PyObject *prepare_python(char **argv, char **env, const char *script)
{
    PyObject *filename = PyUnicode_DecodeFSDefault(script), *importer;

    if (filename == NULL || set_list("argv", argv + 1) != 0
        || set_list("orig_argv", argv) != 0 || forget_zygote() != 0)
        fail("zygote", "the interpreter's state");
    importer = PyImport_GetImporter(filename);
    if (importer != Py_None) {
        report_started();
        exec_program(argv, env);
    }
    Py_DECREF(importer);
    if (set_path0(script) != 0)
        fail("zygote", "sys.path");
    return filename;
}

/* The stack below this frame held the helper's and the init's steps (the
 * cgroup's path, the view's plan); exec would have left none of it. */
static void scrub_stack(void)
{
    volatile char below[128 * 1024];

    explicit_bzero((void *)below, sizeof below);
}

static void zygote_warm_here(struct run *warm, const struct filter *filter,
                             int to_init)
{
    static const char waiting = 'W';
    struct run run;
    char *script;
    PyObject *filename;

    if (!meant_for_us(warm) || point_command_line() != 0)
        return; /* warm.c starts a new interpreter */
    scrub_stack();
    check_name(warm->argv[1] + 2);
    if (asprintf(&script, "%s/%s", WORK_DIR, warm->argv[1]) < 0)
        fail("zygote", "out of memory");
    close(to_init); /* no FIFO: the init forwards signals at once */
    write_all(FD_SOCKET, &waiting, 1, "warm");

    receive(&run);
    close(FD_SOCKET);
    if (run.kind != MESSAGE_WARM_RUN || !same_strings(run.argv, warm->argv)
        || !same_strings(run.env, warm->env))
        fail("hand-over", "the run is not the one its interpreter started for");
    write_files(&run, NULL, NULL);
    apply_rlimits(&run, 0);
    arrange_fds(warm->stdio);
    as_if_named(warm->argv);
    load_filter(filter);

    as_if_started();
    filename = prepare_python(warm->argv, warm->env, script);
    report_started();
    close(FD_REPORT); /* as exec would have: it is close-on-exec */
    run_main(filename, warm->argv[0]);
}

/* --- the zygote: one helper per request -------------------------------- */

/* A request: u32 count, then that many NUL-terminated strings, with the
 * helper's five descriptors. Returns the count; 0 once the supervisor has
 * closed its end. */
static int receive_request(int sock, char ***argv, int fds[REQUEST_FDS])
{
    char control[CMSG_SPACE(REQUEST_FDS * sizeof(int))];
    struct iovec iov = {request, sizeof request};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cmsg;
    ssize_t len;
    uint32_t count;
    char *cursor, *end;

    do
        len = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (len < 0 && errno == EINTR);
    if (len <= 0)
        return 0;
    cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS
        || cmsg->cmsg_len != CMSG_LEN(REQUEST_FDS * sizeof(int)))
        return -1; /* none, or too many: MSG_CTRUNC closed the rest */
    memcpy(fds, CMSG_DATA(cmsg), REQUEST_FDS * sizeof(int));
    if ((msg.msg_flags & MSG_TRUNC) || len < 4)
        return -1;
    memcpy(&count, request, sizeof count);
    if (count == 0 || count > 65536)
        return -1;
    *argv = calloc(count + 1, sizeof **argv);
    cursor = request + 4;
    end = request + len;
    for (uint32_t i = 0; *argv && i < count; i++) {
        char *nul = memchr(cursor, '\0', (size_t)(end - cursor));
        if (nul == NULL)
            return -1;
        (*argv)[i] = cursor;
        cursor = nul + 1;
    }
    return *argv ? (int)count : -1;
}

/* In the clone: what posix_spawn of the launcher would have given it. */
static _Noreturn void become_helper(int argc, char **argv, const int fds[REQUEST_FDS])
{
    struct kernel_sigaction dfl = {.handler = SIG_DFL};
    int moved[REQUEST_FDS];

    for (int signum = 1; signum < _NSIG; signum++) /* exec keeps only SIG_IGN */
        if (started.actions[signum].handler != SIG_IGN && signum != SIGKILL
            && signum != SIGSTOP)
            syscall(SYS_rt_sigaction, signum, &dfl, NULL, sizeof(uint64_t));
    for (int i = 0; i < REQUEST_FDS; i++)
        if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, FD_FIRST_FREE + 64)) < 0)
            _exit(127);
    for (int i = 0; i < REQUEST_FDS; i++)
        if (dup2(moved[i], FD_REPORT + i) < 0)
            _exit(127);
    _exit(helper_main(argc, argv));
}

static pid_t spawn_helper(int argc, char **argv, const int fds[REQUEST_FDS])
{
    pid_t pid;

    PyOS_BeforeFork();
    pid = (pid_t)syscall(SYS_clone, CLONE_PARENT, 0, NULL, NULL, 0);
    if (pid == 0)
        become_helper(argc, argv, fds);
    PyOS_AfterFork_Parent();
    return pid < 0 ? -errno : pid;
}

/* serve(sock, library_fd, argv): "Z" once ready, then answer each request
 * with the helper's pid (or minus an errno) as 8 bytes; returns when the
 * supervisor closes its end. `argv` is the runs' (pool.Warm). */
static PyObject *serve(PyObject *module, PyObject *args)
{
    static const char ready = 'Z';
    PyObject *main, *argv;
    int sock, library;

    (void)module;
    if (!PyArg_ParseTuple(args, "iiO!", &sock, &library, &PyList_Type, &argv))
        return NULL;
    close(library); /* mapped now */
    if (set_command_line(argv) != 0)
        return PyErr_Format(PyExc_ValueError, "zygote: not a command line");
    started.env = exec_environment();
    if (find_process_args() != 0 || started.env == NULL)
        return PyErr_Format(PyExc_OSError, "zygote: /proc/self/stat or environ");
    main = PyImport_AddModule("__main__");
    started.main_names = main ? PyDict_Keys(PyModule_GetDict(main)) : NULL;
    if (started.main_names == NULL)
        return NULL;
    save_signal_actions();
    zygote_warm = zygote_warm_here;
    if (send(sock, &ready, 1, MSG_NOSIGNAL) != 1)
        return PyErr_SetFromErrno(PyExc_OSError);

    for (;;) {
        char **argv = NULL;
        int fds[REQUEST_FDS] = {-1, -1, -1, -1, -1};
        int argc = receive_request(sock, &argv, fds);
        int64_t answer = argc > 0 ? spawn_helper(argc, argv, fds) : -EPROTO;

        explicit_bzero(request, sizeof request);
        free(argv);
        for (int i = 0; i < REQUEST_FDS; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (argc == 0)
            break;
        if (send(sock, &answer, sizeof answer, MSG_NOSIGNAL) != sizeof answer)
            break;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"serve", serve, METH_VARARGS, "Fork a sandbox helper per request."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_playground_zygote", NULL, -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__playground_zygote(void)
{
    if (Py_Version != PY_VERSION_HEX)
        return PyErr_Format(PyExc_ImportError,
                            "zygote: built for Python %s, loaded into %s",
                            PY_VERSION, Py_GetVersion());
    return PyModule_Create(&module);
}
