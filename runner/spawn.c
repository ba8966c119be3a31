/*
 * spawn: fork one child for one job and confine it before exec, in the
 * manner of OpenSMTPD's forkmda: its own session and process group, clean
 * signals, fds 0-3 only, the slot's uid, no new privileges, rlimits, umask
 * 077, a fresh directory, an alarm, and a minimal environment.
 *
 * A step that fails in the child is reported through a close-on-exec pipe
 * (EOF means the exec happened), so the parent never waits for the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "runner.h"

static void	child_fail(int, const char *) __attribute__((noreturn));
static void	child_setup(const struct spawn_req *, int, int, int, int);
static int	rm_entry(const char *, const struct stat *, int, struct FTW *);
static int	dir_fresh(const char *);
static int	uid_switch(uid_t);
static int	caps_clear(void);
static void	limit(int, int, uint64_t, uint64_t);

/* Report a failed step and its errno to the parent, then die. */
static void
child_fail(int fd, const char *step)
{
	char	msg[256];
	int	n;

	n = snprintf(msg, sizeof(msg), "%s: %s", step, strerror(errno));
	if (n > 0)
		(void)!write(fd, msg, (size_t)n);
	_exit(127);
}

static int
rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (ftw->level == 0)
		return 0;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* Make dir exist, empty, 0700 and ours: what a previous job left goes. */
static int
dir_fresh(const char *dir)
{
	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1)
		return -1;
	return chmod(dir, 0700);
}

/*
 * Raw system calls, not the libc wrappers: glibc's set*id broadcast to all
 * threads of the process, which is not what a forked child wants to reason
 * about, and the gid is the uid's number so no passwd entry is needed.
 */
static int
uid_switch(uid_t uid)
{
	if (syscall(SYS_setgroups, 0, NULL) == -1)
		return -1;
	if (syscall(SYS_setresgid, uid, uid, uid) == -1)
		return -1;
	if (syscall(SYS_setresuid, uid, uid, uid) == -1)
		return -1;
	return 0;
}

/* No capability may cross into the job: not permitted, not ambient. */
static int
caps_clear(void)
{
	struct __user_cap_header_struct	hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	return syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0;
}

/*
 * Lower a limit, never above what we were given ourselves (the unit's
 * LimitNOFILE=, a debugger's): an unprivileged process may only lower.
 */
static void
limit(int fd, int res, uint64_t soft, uint64_t hard)
{
	struct rlimit rl, cur;

	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
		if (hard > cur.rlim_max)
			hard = cur.rlim_max;
		if (soft > hard)
			soft = hard;
	}
	rl.rlim_cur = soft;
	rl.rlim_max = hard;
	if (setrlimit(res, &rl) == -1)
		child_fail(fd, "setrlimit");
}

static void
child_setup(const struct spawn_req *r, int in, int out, int res, int st)
{
	struct sigaction	 sa;
	sigset_t		 all;
	int			 sig;

	if (setsid() == -1)
		child_fail(st, "setsid");

	/* Dispositions and the mask survive execve: reset both. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* The status pipe goes above 3 so that fds 0-3 can be laid out. */
	if (st <= 3) {
		int nst = fcntl(st, F_DUPFD_CLOEXEC, 4);
		if (nst == -1)
			_exit(127);
		st = nst;
	}
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1 ||
	    dup2(res, 3) == -1)
		child_fail(st, "dup2");
	if (st != 4) {
		if (dup3(st, 4, O_CLOEXEC) == -1)
			child_fail(st, "dup3");
		st = 4;
	}
	if (syscall(SYS_close_range, 5, ~0U, 0) == -1)
		child_fail(st, "close_range");

	if (!r->same_uid) {
		if (uid_switch(r->uid) == -1)
			child_fail(st, "switch to the slot uid");
		if (caps_clear() == -1)
			child_fail(st, "drop capabilities");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		child_fail(st, "no_new_privs");
	/* After the uid switch, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(st, "pdeathsig");
	if (getppid() == 1)
		_exit(127);

	if (!r->same_uid) {
		/*
		 * Everything else running as this uid is left over from an
		 * earlier job in this slot (it called setsid() or double-forked
		 * out of its group): kill(-1) from the slot uid reaches exactly
		 * those, and never us.
		 */
		if (kill(-1, SIGKILL) == -1 && errno != ESRCH)
			child_fail(st, "sweep the slot");
		limit(st, RLIMIT_NPROC, r->rl_nproc, r->rl_nproc);
	}
	if (r->rl_as)
		limit(st, RLIMIT_AS, r->rl_as, r->rl_as);
	if (r->rl_cpu_s)
		limit(st, RLIMIT_CPU, r->rl_cpu_s, r->rl_cpu_s + 1);
	limit(st, RLIMIT_NOFILE, r->rl_nofile, r->rl_nofile);
	limit(st, RLIMIT_FSIZE, r->rl_fsize, r->rl_fsize);
	limit(st, RLIMIT_CORE, 0, 0);
	umask(077);

	if (dir_fresh(r->workdir) == -1)
		child_fail(st, "make the working directory");
	if (chdir(r->workdir) == -1)
		child_fail(st, "chdir");

	alarm(r->alarm_s);
	execve(r->argv[0], r->argv, r->envp);
	child_fail(st, "exec failed");
}

int
child_spawn(const struct spawn_req *r, struct spawn_res *res)
{
	int	 in = -1, out[2] = { -1, -1 }, rd[2] = { -1, -1 }, st[2] = { -1, -1 };
	size_t	 off = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 saved;

	/* The job document is a memory file: the child reads it at its pace. */
	if ((in = memfd_create("hivejob-job", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < r->jobdoc_len) {
		n = write(in, r->jobdoc + off, r->jobdoc_len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (lseek(in, 0, SEEK_SET) == -1)
		goto fail;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(rd, O_CLOEXEC) == -1 ||
	    pipe2(st, O_CLOEXEC) == -1)
		goto fail;

	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0)
		child_setup(r, in, out[1], rd[1], st[1]);

	close(in);
	close(out[1]);
	close(rd[1]);
	close(st[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(rd[0], F_SETFL, O_NONBLOCK);
	fcntl(st[0], F_SETFL, O_NONBLOCK);
	res->pid = pid;
	res->out_fd = out[0];
	res->result_fd = rd[0];
	res->status_fd = st[0];
	return 0;
fail:
	saved = errno;
	if (in != -1)
		close(in);
	for (n = 0; n < 2; n++) {
		if (out[n] != -1)
			close(out[n]);
		if (rd[n] != -1)
			close(rd[n]);
		if (st[n] != -1)
			close(st[n]);
	}
	errno = saved;
	return -1;
}

/*
 * Kill whatever still runs as a slot's uid and remove its directory, from a
 * short-lived process of that uid (same_uid: only the directory; a kill(-1)
 * there would reach the supervisor). Returns the sweeper's pid; the caller
 * reaps it like any child.
 */
int
slot_sweep(uid_t uid, const char *workdir, int same_uid)
{
	pid_t pid;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		return pid;
	if (!same_uid) {
		if (uid_switch(uid) == -1 || caps_clear() == -1)
			_exit(1);
		(void)kill(-1, SIGKILL);
	}
	(void)nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	(void)rmdir(workdir);
	_exit(0);
}
