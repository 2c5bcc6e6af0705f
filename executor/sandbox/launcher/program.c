/* The program child: sheds every privilege before its run exists, then
 * takes the run from the supervisor over the hand-over socket (its argv,
 * environment, rlimits, files and stdio; see executor/sandbox/handover.py),
 * writes /work as the sandbox user, and becomes the program.
 *
 *   signals -> session -> credentials -> ready -> hand-over -> files
 *   -> rlimits -> fds -> seccomp -> exec
 *
 * A pooled sandbox may instead be told to start its interpreter before its
 * run exists; warm.c takes over after the hand-over of that message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#define MAX_RUN_BYTES (1UL << 30)
#define DEFAULT_PATH "/bin:/usr/bin"

/* Each kind of message and how many descriptors travel with its head. */
static const struct {
    const char *magic;
    int fds;
} KINDS[] = {
    [MESSAGE_RUN] = {"PGH1", 3},
    [MESSAGE_WARM] = {"PGW1", 3},
    [MESSAGE_WARM_RUN] = {"PGR1", 0},
};

/* Every signal unblocked and at its default action, as the Python path
 * leaves them. The system call, not sigaction(): glibc refuses the two
 * real-time signals it reserves (32 and 33), yet its posix_spawn left them
 * ignored in the launcher, and exec would pass that on to the program. */
void default_signals(void)
{
    struct kernel_sigaction action = {.handler = SIG_DFL};
    sigset_t none;

    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        fail_errno("signals", "sigprocmask");
    for (int signum = 1; signum < NSIG; signum++)
        if (signum != SIGKILL && signum != SIGSTOP
            && syscall(SYS_rt_sigaction, signum, &action, NULL, sizeof action.mask))
            fail_errno("signals", "rt_sigaction");
}

static void drop_credentials(void)
{
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct none[2];

    for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
        if (prctl(PR_CAPBSET_DROP, cap) != 0)
            fail_errno("credentials", "drop the bounding set");
    if (setresgid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID) != 0
        || setresuid(SANDBOX_ID, SANDBOX_ID, SANDBOX_ID) != 0)
        fail_errno("credentials", "become the sandbox user");
    memset(none, 0, sizeof none);
    if (syscall(SYS_capset, &head, none) != 0)
        fail_errno("credentials", "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        fail_errno("credentials", "clear the ambient set");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail_errno("credentials", "no_new_privs");
    /* Survives exec: if the init dies, so does the program, at once. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        fail_errno("credentials", "pdeathsig");
}

/* The message's first bytes arrive with its descriptors, if it has any. */
static uint32_t receive_head(struct run *run)
{
    unsigned char head[8];
    char control[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = {head, sizeof head};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *cmsg;
    uint32_t len;
    int kind = -1;

    if (recvmsg(FD_SOCKET, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) != sizeof head)
        fail("hand-over", "the supervisor closed the pool socket");
    for (int i = 0; i < (int)(sizeof KINDS / sizeof KINDS[0]); i++)
        if (memcmp(head, KINDS[i].magic, 4) == 0)
            kind = i;
    if (kind < 0)
        fail("hand-over", "malformed: no magic");
    cmsg = CMSG_FIRSTHDR(&msg);
    if (KINDS[kind].fds == 0 ? cmsg != NULL
        : cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS
          || cmsg->cmsg_len != CMSG_LEN(3 * sizeof(int)))
        fail("hand-over", "malformed: not the descriptors its kind has");
    if (cmsg != NULL)
        memcpy(run->stdio, CMSG_DATA(cmsg), 3 * sizeof(int));
    run->kind = (enum message)kind;
    memcpy(&len, head + 4, sizeof len);
    return len;
}

static void take(struct run *run, void *out, size_t len)
{
    if ((size_t)(run->end - run->cursor) < len)
        fail("hand-over", "malformed: the message ends early");
    memcpy(out, run->cursor, len);
    run->cursor += len;
}

/* A length-prefixed string, copied out and NUL-terminated. One with a NUL
 * inside is refused: exec and open would see only its first part. */
static char *take_string(struct run *run)
{
    uint32_t len;
    char *text;

    take(run, &len, sizeof len);
    if ((size_t)(run->end - run->cursor) < len)
        fail("hand-over", "malformed: a string ends past the message");
    if (memchr(run->cursor, '\0', len) != NULL)
        fail("hand-over", "malformed: a NUL inside a string");
    text = malloc(len + 1);
    if (text == NULL)
        fail("hand-over", "out of memory");
    memcpy(text, run->cursor, len);
    text[len] = '\0';
    run->cursor += len;
    return text;
}

static char **take_strings(struct run *run)
{
    uint32_t count;
    char **list;

    take(run, &count, sizeof count);
    if (count > 65536)
        fail("hand-over", "malformed: too many strings");
    list = calloc(count + 1, sizeof *list);
    if (list == NULL)
        fail("hand-over", "out of memory");
    for (uint32_t i = 0; i < count; i++)
        list[i] = take_string(run);
    return list;
}

void receive(struct run *run)
{
    uint32_t len = receive_head(run);
    unsigned char *body;
    size_t got = 0;

    if (len > MAX_RUN_BYTES)
        fail("hand-over", "malformed: the run is too large");
    body = malloc(len ? len : 1);
    if (body == NULL)
        fail("hand-over", "out of memory");
    while (got < len) {
        ssize_t n = read(FD_SOCKET, body + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("hand-over", "the supervisor closed the pool socket");
        got += (size_t)n;
    }
    run->cursor = body;
    run->end = body + len;
    run->argv = take_strings(run);
    run->env = take_strings(run);
    if (run->argv[0] == NULL)
        fail("hand-over", "malformed: no program to run");
}

static void make_parents(char *path)
{
    for (char *slash = path + strlen(WORK_DIR) + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            fail_errno("files", path);
        *slash = '/';
    }
}

/* The supervisor checked the names; one that could leave /work is refused
 * here too, so that a slip there never writes elsewhere in the view. */
void check_name(const char *name)
{
    const char *part = name;

    if (*name == '/')
        fail("files", "malformed: an absolute file name");
    for (;;) {
        size_t len = strcspn(part, "/");
        if (len == 0 || (len <= 2 && strncmp(part, "..", len) == 0))
            fail("files", "malformed: a file name with an empty, . or .. part");
        if (part[len] == '\0')
            return;
        part += len + 1;
    }
}

/* /work is new and holds no links: nothing on the way is followed. */
static void write_file(const char *name, uint32_t mode, const void *data,
                       uint64_t size)
{
    char *path;
    int fd;

    if (asprintf(&path, "%s/%s", WORK_DIR, name) < 0)
        fail("files", "out of memory");
    make_parents(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              (mode_t)(mode & 0777)); /* never setuid, even on nosuid */
    if (fd < 0)
        fail_errno("files", path);
    write_all(fd, data, (size_t)size, "files");
    close(fd);
    free(path);
}

/* Every file of the run, but the one named `kept` (if any): that one is
 * left to the caller, in `kept_file`. */
void write_files(struct run *run, const char *kept, struct file *kept_file)
{
    uint32_t count;

    take(run, &count, sizeof count);
    for (uint32_t i = 0; i < count; i++) {
        struct file file = {take_string(run), 0, NULL, 0};

        check_name(file.name);
        take(run, &file.mode, sizeof file.mode);
        take(run, &file.size, sizeof file.size);
        if ((uint64_t)(run->end - run->cursor) < file.size)
            fail("files", "malformed: a file ends past the message");
        file.data = run->cursor;
        run->cursor += file.size;
        if (kept != NULL && strcmp(file.name, kept) == 0)
            *kept_file = file;
        else
            write_file(file.name, file.mode, file.data, file.size);
    }
}

/* On `pid`: 0 for this process. */
void apply_rlimits(struct run *run, pid_t pid)
{
    uint32_t count;

    take(run, &count, sizeof count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t resource;
        uint64_t soft, hard;
        struct rlimit limit;

        take(run, &resource, sizeof resource);
        take(run, &soft, sizeof soft);
        take(run, &hard, sizeof hard);
        limit.rlim_cur = soft;
        limit.rlim_max = hard;
        if (prlimit(pid, (int)resource, &limit, NULL) != 0)
            fail_errno("rlimits", "prlimit");
    }
}

/* stdio on 0, 1 and 2, the report pipe on 3 (closed by exec), nothing else.
 * Copied above 3 first so that no dup2 overwrites another source. */
void arrange_fds(const int stdio[3])
{
    int moved[4];

    for (int i = 0; i < 4; i++) {
        moved[i] = fcntl(i < 3 ? stdio[i] : report_fd, F_DUPFD_CLOEXEC, 10);
        if (moved[i] < 0)
            fail_errno("fds", "fcntl");
    }
    for (int target = 0; target < 3; target++)
        if (dup2(moved[target], target) < 0)
            fail_errno("fds", "dup2");
    if (dup3(moved[3], FD_REPORT, O_CLOEXEC) < 0)
        fail_errno("fds", "dup3");
    report_fd = FD_REPORT;
    if (syscall(SYS_close_range, FD_REPORT + 1, ~0U, 0) != 0)
        fail_errno("fds", "close_range");
}

void load_filter(const struct filter *filter)
{
    struct sock_fprog program = {
        (unsigned short)(filter->len / 8), (struct sock_filter *)filter->code,
    };

    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0)
        fail_errno("seccomp", "prctl(PR_SET_SECCOMP)");
}

static const char *path_of(char **env)
{
    for (; *env; env++)
        if (strncmp(*env, "PATH=", 5) == 0)
            return *env + 5;
    return DEFAULT_PATH;
}

/* execvpe with the run's own PATH, not the launcher's (it has none). */
_Noreturn void exec_program(char **argv, char **env)
{
    const char *path = path_of(env);
    int saved = ENOENT;

    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, env);
        saved = errno;
    }
    while (!strchr(argv[0], '/') && *path) {
        size_t len = strcspn(path, ":");
        char *candidate;
        if (asprintf(&candidate, "%.*s/%s", (int)len, path, argv[0]) < 0)
            fail("exec", "out of memory");
        execve(candidate, argv, env);
        if (errno != ENOENT && errno != ENOTDIR)
            saved = errno;
        free(candidate);
        path += len + (path[len] == ':');
    }
    errno = saved;
    fail_errno("exec", argv[0]);
}

void (*zygote_warm)(struct run *warm, const struct filter *filter, int to_init);

/* `to_init`: where a pre-started interpreter's FIFO goes (init.c). */
_Noreturn void program_main(const struct filter *filter, int to_init)
{
    static const char ready = 'R';
    struct run run;

    default_signals();
    if (setsid() < 0)
        fail_errno("session", "setsid");
    drop_credentials();
    write_all(FD_SOCKET, &ready, 1, "ready");
    receive(&run);
    if (run.kind == MESSAGE_WARM && zygote_warm != NULL)
        zygote_warm(&run, filter, to_init); /* returns if not its interpreter's */
    if (run.kind == MESSAGE_WARM)
        warm_main(&run, filter, to_init);
    if (run.kind != MESSAGE_RUN)
        fail("hand-over", "a run for a pre-started interpreter, which this is not");
    close(to_init); /* no FIFO: the init goes on at once */
    close(FD_SOCKET);
    write_files(&run, NULL, NULL);
    apply_rlimits(&run, 0);
    arrange_fds(run.stdio);
    load_filter(filter);
    exec_program(run.argv, run.env);
}
