/* The default seccomp profile: an allowlist (everything else fails with EPERM), modelled on the
 * set of system calls ordinary programs use. Left out on purpose: mount, umount2, pivot_root,
 * unshare, setns, keyctl, add_key, request_key, ptrace, bpf, perf_event_open, kexec_*, *_module,
 * reboot, swapon/off, acct, quotactl, userfaultfd, open_by_handle_at, name_to_handle_at, lookup_dcookie,
 * fanotify_init, move_mount, open_tree, fsopen, fsconfig, fsmount, fspick, mount_setattr,
 * clock_settime, settimeofday, adjtimex, vhangup, iopl, ioperm. clone may not create namespaces
 * (a flag mask test on its first argument) and clone3 fails with ENOSYS, so libc falls back to
 * clone where the mask applies. */
#include <jansson.h>
#include <sched.h>

#include "wharf/run.h"

static const char *const allowed[] = {
	"accept", "accept4", "access", "alarm", "arch_prctl", "bind", "brk", "capget", "capset", "chdir", "chmod",
	"chown", "chown32", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep", "close",
	"close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchown",
	"fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
	"fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_waitv", "futimesat", "getcpu", "getcwd",
	"getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer", "getpeername",
	"getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit",
	"get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
	"gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "ioprio_get",
	"ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "kill",
	"lchown", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "madvise", "membarrier", "memfd_create", "mincore", "mkdir", "mkdirat", "mknod",
	"mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
	"pidfd_open", "pidfd_send_signal", "pidfd_getfd", "pipe", "pipe2", "poll", "ppoll", "prctl", "pread64",
	"preadv", "preadv2", "prlimit64", "pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
	"readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr",
	"rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
	"semget", "semop", "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsuid",
	"setgid", "setgroups", "setitimer", "setpgid", "setpriority", "setregid", "setresgid", "setresuid",
	"setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address",
	"setuid", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "socket", "socketpair", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
	"timer_getoverrun", "timer_gettime", "timer_settime", "timerfd_create", "timerfd_gettime",
	"timerfd_settime", "times", "tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime",
	"utimensat", "utimes", "vfork", "wait4", "waitid", "write", "writev",
};

/* Namespace flags clone must not carry. */
#define CLONE_NS_MASK                                                                                            \
	((unsigned long long)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |            \
			      CLONE_NEWNET | CLONE_NEWCGROUP))

char *wharf_seccomp_default_json(void)
{
	json_t *names = json_array();
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		json_array_append_new(names, json_string(allowed[i]));
	json_t *syscalls = json_array();
	json_array_append_new(syscalls, json_pack("{s:o, s:s}", "names", names, "action", "SCMP_ACT_ALLOW"));
	json_array_append_new(syscalls,
			      json_pack("{s:[s], s:s, s:[{s:i, s:I, s:I, s:s}]}", "names", "clone", "action",
					"SCMP_ACT_ALLOW", "args", "index", 0, "value", (json_int_t)CLONE_NS_MASK,
					"valueTwo", (json_int_t)0, "op", "SCMP_CMP_MASKED_EQ"));
	json_array_append_new(syscalls, json_pack("{s:[s], s:s, s:i}", "names", "clone3", "action", "SCMP_ACT_ERRNO",
						  "errnoRet", 38 /* ENOSYS */));
	json_t *root = json_pack("{s:s, s:i, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
				 1 /* EPERM */, "syscalls", syscalls);
#ifdef __x86_64__
	json_object_set_new(root, "architectures", json_pack("[s,s,s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
#endif
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}
