/*
 * netcheck: which addresses an outbound HTTP client may connect to (the SSRF
 * defence in protocols.md). Judge the address actually connected to, never
 * the URL's text.
 *
 * Denied by default: IPv4 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16,
 * 172.16/12, 192.0.0/24, 192.0.2/24, 192.88.99/24, 192.168/16, 198.18/15,
 * 198.51.100/24, 203.0.113/24, 224/4, 240/4; IPv6 ::/128, ::1/128, ::/96,
 * ::ffff:0:0/96, 64:ff9b::/96, 64:ff9b:1::/48, 100::/64, 2002::/16,
 * 2001::/32, 2001:db8::/32, fe80::/10, fc00::/7, ff00::/8.
 *
 * An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d, but not
 * :: or ::1) address is judged as the IPv4 address it embeds, by the deny
 * list and by the allowlist: an IPv4 entry covers it, and so does an IPv6
 * entry of prefix 96 or longer in the same /96 (::ffff:10.0.0.0/104); an
 * IPv6 entry shorter than /96 (::/0) never does.
 *
 * The allowlist overrides the deny list, except for cloud metadata:
 * 169.254.0.0/16, fe80::/10, and the single metadata addresses
 * 100.100.100.200 and fd00:ec2::254 stay denied unless an allow entry lies
 * entirely inside such a range, that is, names it: 169.254.169.254/32
 * opens that address, 0.0.0.0/0 does not.
 */
#ifndef HIVEJOB_NETCHECK_H
#define HIVEJOB_NETCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NET_CIDRS_MAX	64

struct net_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned	 prefix;	/* 0..32 or 0..128 */
	uint8_t		 addr[16];	/* network order; host bits zero */
};

struct net_cidrs {
	size_t		 n;
	struct net_cidr	 v[NET_CIDRS_MAX];
};

enum net_verdict {
	NET_DENIED = 0,
	NET_ALLOWED = 1
};

/*
 * Parse a list of CIDRs separated by commas and/or blanks (spaces, tabs,
 * newlines) into out; a bare address is a /32 or /128. An empty list is
 * valid (nothing allowed beyond the defaults). Addresses must be in the
 * strict inet_pton(3) forms (no "127.1", no zone ids) and have no bits set
 * past the prefix ("10.1.0.0/8" is an error, with a hint). Returns 0, or
 * -1 with a message in err (out is then empty).
 */
int	 net_parse_cidrs(const char *, struct net_cidrs *, char *, size_t);

/*
 * Judge an address (AF_INET or AF_INET6; anything else is denied). allow
 * may be NULL. If reason is not NULL it receives a static string: for a
 * denial the rule, e.g. "127.0.0.0/8 (loopback)"; for an allowed address
 * "public address" or "allowed by the allowlist".
 */
enum net_verdict net_check(const struct sockaddr *, const struct net_cidrs *,
	    const char **);

/* The numeric address (no port) in buf; "?" for other families. */
const char *net_ntop(const struct sockaddr *, char *, size_t);

#endif
