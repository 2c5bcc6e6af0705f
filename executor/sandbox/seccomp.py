"""The system-call filter: an allow-list, loaded just before exec.

Built once per supervisor with pyseccomp and exported as BPF; the program
child only hands those bytes to prctl(PR_SET_SECCOMP). Anything not on the
list fails with ENOSYS (programs treat it as "not implemented" and fall back,
as glibc does from clone3 to clone); the calls that could change the
sandbox, the kernel or the host fail with EPERM. Other architectures and the
x32 ABI kill the process.

ioctl stays allowed whole: libseccomp cannot compare one argument twice, so
the low 32 bits of a request cannot be both masked and ranged. TIOCSTI, the
one dangerous terminal request, can only inject input into the run's own
terminal, which nothing else reads.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import tempfile
from collections.abc import Iterable
from functools import lru_cache

import pyseccomp as sc

from executor.sandbox import fds

ALLOWED = """
read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 open
openat openat2 close close_range creat lseek stat fstat lstat newfstatat statx
access faccessat faccessat2 readlink readlinkat getdents getdents64 getcwd chdir
fchdir rename renameat renameat2 mkdir mkdirat rmdir unlink unlinkat link linkat
symlink symlinkat chmod fchmod fchmodat chown fchown lchown fchownat truncate
ftruncate fallocate fsync fdatasync sync_file_range syncfs sync umask utime
utimes utimensat futimesat statfs fstatfs dup dup2 dup3 pipe pipe2 fcntl flock
ioctl sendfile splice tee vmsplice copy_file_range fadvise64 readahead mknod
mknodat memfd_create select pselect6 poll ppoll epoll_create epoll_create1
epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd eventfd2 signalfd
signalfd4 timerfd_create timerfd_settime timerfd_gettime inotify_init
inotify_init1 inotify_add_watch inotify_rm_watch getxattr lgetxattr fgetxattr
listxattr llistxattr flistxattr setxattr lsetxattr fsetxattr removexattr
lremovexattr fremovexattr
brk mmap munmap mremap mprotect madvise mlock mlock2 munlock mlockall munlockall
mincore msync membarrier pkey_alloc pkey_free pkey_mprotect mbind get_mempolicy
set_mempolicy
fork vfork execve execveat exit exit_group wait4 waitid kill tkill tgkill
getpid getppid gettid getpgid setpgid getpgrp getsid setsid getuid geteuid
getgid getegid getresuid getresgid getgroups setuid setgid setreuid setregid
setresuid setresgid setgroups setfsuid setfsgid capget capset prctl arch_prctl
set_tid_address set_robust_list get_robust_list futex futex_waitv rseq
sched_yield sched_getaffinity sched_setaffinity sched_getparam sched_setparam
sched_getscheduler sched_setscheduler sched_get_priority_max
sched_get_priority_min sched_rr_get_interval sched_getattr sched_setattr
getpriority setpriority getrlimit setrlimit getrusage times uname
sysinfo getcpu pidfd_open pidfd_send_signal restart_syscall
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait
rt_sigqueueinfo rt_tgsigqueueinfo rt_sigsuspend sigaltstack pause alarm
getitimer setitimer nanosleep clock_nanosleep clock_gettime clock_getres
gettimeofday time timer_create timer_settime timer_gettime timer_getoverrun
timer_delete
shmget shmat shmdt shmctl semget semop semtimedop semctl msgget msgsnd msgrcv
msgctl mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr
bind connect listen accept accept4 getsockname getpeername sendto recvfrom
sendmsg recvmsg sendmmsg recvmmsg shutdown setsockopt getsockopt
getrandom ioprio_get ioprio_set landlock_create_ruleset landlock_add_rule
landlock_restrict_self
""".split()

# Refused with EPERM: they would reach past the sandbox's own namespaces.
DENIED = """
ptrace process_vm_readv process_vm_writev pidfd_getfd kcmp mount umount2
pivot_root chroot unshare setns move_mount open_tree fsopen fsconfig fsmount
fspick mount_setattr keyctl add_key request_key bpf perf_event_open
userfaultfd io_uring_setup io_uring_enter io_uring_register kexec_load
kexec_file_load init_module finit_module delete_module reboot swapon swapoff
acct settimeofday clock_settime clock_adjtime adjtimex open_by_handle_at
name_to_handle_at iopl ioperm quotactl syslog vhangup lookup_dcookie
fanotify_init process_madvise migrate_pages move_pages
""".split()

NAMESPACE_FLAGS = 0x7E020080  # CLONE_NEWTIME | NEWNS | NEWCGROUP ... NEWNET
# personality() may only query or keep Linux semantics, not e.g. READ_IMPLIES_EXEC.
PERSONALITIES = (0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)


def _rule(f: sc.SyscallFilter, action: int, name: str, *args: sc.Arg) -> None:
    try:
        f.add_rule(action, name, *args)
    except ValueError:
        pass  # a call this libseccomp or architecture does not know


def _add(f: sc.SyscallFilter, action: int, names: Iterable[str]) -> None:
    for name in names:
        _rule(f, action, name)


def build() -> sc.SyscallFilter:
    """The filter, as pyseccomp objects."""
    f = sc.SyscallFilter(sc.ERRNO(errno.ENOSYS))
    f.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    # A binary search over the call numbers rather than a chain of ~170
    # comparisons: every system call of the program pays for the filter.
    f.set_attr(sc.Attr.CTL_OPTIMIZE, 2)
    _add(f, sc.ALLOW, ALLOWED)
    _add(f, sc.ERRNO(errno.EPERM), DENIED)
    _rule(f, sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, NAMESPACE_FLAGS, 0))
    for name in ("socket", "socketpair"):
        _rule(f, sc.ALLOW, name, sc.Arg(0, sc.EQ, socket.AF_UNIX))
        _rule(f, sc.ERRNO(errno.EAFNOSUPPORT), name, sc.Arg(0, sc.NE, socket.AF_UNIX))
    # Another process's limits: run as an ordinary user, the sandbox's init
    # shares the program's uid, and lowering its limits would break the run.
    _rule(f, sc.ALLOW, "prlimit64", sc.Arg(0, sc.EQ, 0))
    _rule(f, sc.ERRNO(errno.EPERM), "prlimit64", sc.Arg(0, sc.NE, 0))
    for persona in PERSONALITIES:
        _rule(f, sc.ALLOW, "personality", sc.Arg(0, sc.EQ, persona))
    return f


@lru_cache(maxsize=1)
def program() -> bytes:
    """The filter compiled to classic BPF, once per process."""
    with tempfile.TemporaryFile() as out:
        build().export_bpf(out)
        out.seek(0)
        return out.read()


@lru_cache(maxsize=1)
def program_fd() -> int:
    """The compiled filter in a sealed memory file, for the launcher to read:
    one per supervisor, never written again."""
    return fds.sealed("seccomp", program())


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_libc = ctypes.CDLL(None, use_errno=True)


def apply(bpf: bytes) -> None:
    """Child side: install the filter; needs no_new_privs already set."""
    buffer = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _SockFprog(len(bpf) // 8, ctypes.addressof(buffer))
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0):
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP): {os.strerror(err)}")
