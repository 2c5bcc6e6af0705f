/* The sandbox's view of the filesystem: the init runs the plan that
 * executor/sandbox/mounts.py made, one step per operation:
 *
 *   private                     / and everything below: no propagation
 *   tmpfs TARGET OPTIONS        a fresh tmpfs (nosuid, nodev)
 *   bind SOURCE TARGET          a read-write bind (target made to match)
 *   bind-ro SOURCE TARGET       the same, then remounted read-only
 *   symlink VALUE PATH          a symbolic link
 *   mkdir PATH                  a new directory (0755 under the umask)
 *   mkdirs PATH                 the directory and any missing parents
 *   file PATH TEXT              a new file, unless the path exists
 *   chown PATH                  owned by the sandbox user
 *   proc TARGET                 the new pid namespace's /proc
 *   read-only PATH              an existing bind mount made read-only
 *   enter ROOT                  pivot_root into ROOT, the host detached
 *   chdir PATH                  the init's (and so the program's) directory
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

static void make_dirs(const char *path)
{
    char partial[4096];
    size_t len = strlen(path);

    if (len >= sizeof partial)
        fail("mounts", "path too long");
    memcpy(partial, path, len + 1);
    for (char *slash = partial + 1; *slash; slash++) {
        if (*slash != '/')
            continue;
        *slash = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            fail_errno("mounts", partial);
        *slash = '/';
    }
    if (mkdir(partial, 0777) != 0 && errno != EEXIST)
        fail_errno("mounts", partial);
}

static void parent_dirs(const char *path)
{
    char parent[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;

    if (len == 0 || len >= sizeof parent)
        return;
    memcpy(parent, path, len);
    parent[len] = '\0';
    make_dirs(parent);
}

static void do_mount(const char *source, const char *target, const char *type,
                     unsigned long flags, const char *data)
{
    if (mount(source, target, type, flags, data) != 0) {
        char what[4200];
        snprintf(what, sizeof what, "mount %s on %s",
                 source ? source : type ? type : "(remount)", target);
        fail_errno("mounts", what);
    }
}

/* A read-only remount inside a user namespace must keep the flags the
 * kernel locked on the original mount, or it is refused. */
static unsigned long locked_flags(const char *target)
{
    static const struct { unsigned long st, ms; } kept[] = {
        {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME},
    };
    struct statvfs info;
    unsigned long flags = 0;

    if (statvfs(target, &info) != 0)
        fail_errno("mounts", target);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (info.f_flag & kept[i].st)
            flags |= kept[i].ms;
    return flags;
}

static void bind(const char *source, const char *target, int readonly)
{
    struct stat info;

    if (stat(source, &info) == 0 && S_ISDIR(info.st_mode)) {
        make_dirs(target);
    } else {
        int fd;
        parent_dirs(target);
        fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            fail_errno("mounts", target);
        close(fd);
    }
    do_mount(source, target, NULL, MS_BIND | MS_REC, NULL);
    if (readonly)
        do_mount(NULL, target, NULL,
                 locked_flags(target) | MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID,
                 NULL);
}

static void new_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);

    if (fd < 0 && errno == EEXIST)
        return; /* a bound host file of that name wins */
    if (fd < 0)
        fail_errno("mounts", path);
    write_all(fd, text, strlen(text), "mounts");
    close(fd);
}

static void enter(const char *root)
{
    char old[4200];

    snprintf(old, sizeof old, "%s/.host", root);
    if (mkdir(old, 0755) != 0 || chdir(root) != 0)
        fail_errno("mounts", root);
    if (syscall(SYS_pivot_root, ".", ".host") != 0)
        fail_errno("mounts", "pivot_root");
    if (chdir("/") != 0 || umount2("/.host", MNT_DETACH) != 0 || rmdir("/.host") != 0)
        fail_errno("mounts", "detach the host's tree");
}

static void step(char **op)
{
    const char *name = op[0];

    if (strcmp(name, "private") == 0)
        do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    else if (strcmp(name, "tmpfs") == 0)
        do_mount("tmpfs", op[1], "tmpfs", MS_NOSUID | MS_NODEV, op[2]);
    else if (strcmp(name, "bind") == 0 || strcmp(name, "bind-ro") == 0)
        bind(op[1], op[2], name[4] == '-');
    else if (strcmp(name, "symlink") == 0) {
        if (symlink(op[1], op[2]) != 0)
            fail_errno("mounts", op[2]);
    } else if (strcmp(name, "mkdir") == 0) {
        if (mkdir(op[1], 0777) != 0)
            fail_errno("mounts", op[1]);
    } else if (strcmp(name, "mkdirs") == 0)
        make_dirs(op[1]);
    else if (strcmp(name, "file") == 0)
        new_file(op[1], op[2]);
    else if (strcmp(name, "chown") == 0) {
        if (chown(op[1], SANDBOX_ID, SANDBOX_ID) != 0)
            fail_errno("mounts", op[1]);
    } else if (strcmp(name, "proc") == 0)
        do_mount("proc", op[1], "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    else if (strcmp(name, "read-only") == 0)
        do_mount(NULL, op[1], NULL,
                 MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
    else if (strcmp(name, "enter") == 0)
        enter(op[1]);
    else if (chdir(op[1]) != 0)
        fail_errno("mounts", op[1]);
}

/* How many arguments each step takes (the step's name excluded). */
static int arity(const char *name)
{
    static const struct { const char *name; int count; } table[] = {
        {"private", 0}, {"tmpfs", 2}, {"bind", 2}, {"bind-ro", 2},
        {"symlink", 2}, {"mkdir", 1}, {"mkdirs", 1}, {"file", 2},
        {"chown", 1}, {"proc", 1}, {"read-only", 1}, {"enter", 1},
        {"chdir", 1},
    };

    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].count;
    fail("mounts", "unknown step in the view's plan");
}

void view_apply(char **plan)
{
    while (*plan) {
        int count = arity(plan[0]);
        for (int i = 1; i <= count; i++)
            if (plan[i] == NULL)
                fail("mounts", "the view's plan ends inside a step");
        step(plan);
        plan += count + 1;
    }
}
