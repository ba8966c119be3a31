/*
 * priv: what the supervisor may do, and nothing more. It keeps
 * CAP_SETUID and CAP_SETGID (to start jobs under their slot uids) and
 * CAP_KILL (to signal them), is not dumpable (a process of our uid cannot
 * read our memory), and adopts orphaned descendants of its jobs.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "hivejobd.h"
#include "log.h"

#define CAP_BIT(c)	(1U << (c))
#define NEEDED		(CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_KILL))

static int	caps_get(uint32_t *);
static int	caps_set(uint32_t);

static int
caps_get(uint32_t *permitted)
{
	struct __user_cap_header_struct	hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	d[2];

	if (syscall(SYS_capget, &hdr, d) == -1)
		return -1;
	*permitted = d[0].permitted;
	return 0;
}

/* Permitted and effective become exactly caps; inheritable empty. */
static int
caps_set(uint32_t caps)
{
	struct __user_cap_header_struct	hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	d[2];

	memset(d, 0, sizeof(d));
	d[0].permitted = d[0].effective = caps;
	return syscall(SYS_capset, &hdr, d) == -1 ? -1 : 0;
}

int
priv_setup(const struct conf *cf)
{
	struct passwd	*pw = NULL;
	uint32_t	 have;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		return -1;

	if (cf->user && *cf->user) {
		if (geteuid() != 0) {
			log_warnx("[supervisor] user = %s needs hivejobd started as root",
			    cf->user);
			errno = EPERM;
			return -1;
		}
		if ((pw = getpwnam(cf->user)) == NULL) {
			log_warnx("[supervisor] user: no such user '%s'", cf->user);
			errno = ENOENT;
			return -1;
		}
		/* Keep capabilities across the uid change, then drop the rest. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 ||
		    setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			return -1;
		(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		/* The uid change reset this. */
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}

	if (cf->isolation == ISOLATION_SAME_UID) {
		log_warnx("isolation = same-uid: jobs run as our own uid and can reach "
		    "each other and us; for development only");
		return caps_set(0) == -1 && errno != EPERM ? -1 : 0;
	}
	if (caps_get(&have) == -1)
		return -1;
	if ((have & NEEDED) != NEEDED) {
		log_warnx("jobs run under their own uids, which needs CAP_SETUID, "
		    "CAP_SETGID and CAP_KILL: start as root with [supervisor] user, or "
		    "from the systemd unit (AmbientCapabilities); for development set "
		    "[supervisor] isolation = same-uid");
		errno = EPERM;
		return -1;
	}
	if (geteuid() == 0)
		log_warnx("running as root: set [supervisor] user to drop to a "
		    "dedicated user");
	if (caps_set(NEEDED) == -1)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	return 0;
}
