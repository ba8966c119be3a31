/*
 * netcheck: the address policy of the outbound HTTP client. Pure: no I/O,
 * no allocation, so it may run inside libcurl's open-socket callback.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netcheck.h"

struct rule {
	int		 family;
	unsigned	 prefix;
	uint8_t		 addr[16];
	const char	*reason;
};

static const struct rule deny4[] = {
	{ AF_INET, 8, { 0 }, "0.0.0.0/8 (this network)" },
	{ AF_INET, 8, { 10 }, "10.0.0.0/8 (private)" },
	{ AF_INET, 10, { 100, 64 }, "100.64.0.0/10 (shared address space)" },
	{ AF_INET, 8, { 127 }, "127.0.0.0/8 (loopback)" },
	{ AF_INET, 16, { 169, 254 }, "169.254.0.0/16 (link-local)" },
	{ AF_INET, 12, { 172, 16 }, "172.16.0.0/12 (private)" },
	{ AF_INET, 24, { 192, 0, 0 }, "192.0.0.0/24 (IETF protocol assignments)" },
	{ AF_INET, 24, { 192, 0, 2 }, "192.0.2.0/24 (documentation)" },
	{ AF_INET, 24, { 192, 88, 99 }, "192.88.99.0/24 (6to4 relay anycast)" },
	{ AF_INET, 16, { 192, 168 }, "192.168.0.0/16 (private)" },
	{ AF_INET, 15, { 198, 18 }, "198.18.0.0/15 (benchmarking)" },
	{ AF_INET, 24, { 198, 51, 100 }, "198.51.100.0/24 (documentation)" },
	{ AF_INET, 24, { 203, 0, 113 }, "203.0.113.0/24 (documentation)" },
	{ AF_INET, 4, { 224 }, "224.0.0.0/4 (multicast)" },
	{ AF_INET, 4, { 240 }, "240.0.0.0/4 (reserved)" },
};

/*
 * ::/96 and ::ffff:0:0/96 are not rules of their own: what they embed is
 * judged as IPv4 (see normalize).
 */
static const struct rule deny6[] = {
	{ AF_INET6, 128, { 0 }, "::/128 (unspecified)" },
	{ AF_INET6, 128, { [15] = 1 }, "::1/128 (loopback)" },
	{ AF_INET6, 96, { 0x00, 0x64, 0xff, 0x9b }, "64:ff9b::/96 (NAT64)" },
	{ AF_INET6, 48, { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 },
	    "64:ff9b:1::/48 (local-use NAT64)" },
	{ AF_INET6, 64, { 0x01, 0x00 }, "100::/64 (discard-only)" },
	{ AF_INET6, 16, { 0x20, 0x02 }, "2002::/16 (6to4)" },
	{ AF_INET6, 32, { 0x20, 0x01, 0x00, 0x00 }, "2001::/32 (Teredo)" },
	{ AF_INET6, 32, { 0x20, 0x01, 0x0d, 0xb8 }, "2001:db8::/32 (documentation)" },
	{ AF_INET6, 10, { 0xfe, 0x80 }, "fe80::/10 (link-local)" },
	{ AF_INET6, 7, { 0xfc }, "fc00::/7 (unique local)" },
	{ AF_INET6, 8, { 0xff }, "ff00::/8 (multicast)" },
};

/* Opened only by an allow entry that lies inside them. */
static const struct rule meta4[] = {
	{ AF_INET, 16, { 169, 254 },
	    "169.254.0.0/16 (link-local, cloud metadata: allow it only by name)" },
	{ AF_INET, 32, { 100, 100, 100, 200 },
	    "100.100.100.200/32 (cloud metadata: allow it only by name)" },
};
static const struct rule meta6[] = {
	{ AF_INET6, 10, { 0xfe, 0x80 },
	    "fe80::/10 (link-local, cloud metadata: allow it only by name)" },
	{ AF_INET6, 128, { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 },
	    "fd00:ec2::254/128 (cloud metadata: allow it only by name)" },
};

static const uint8_t mapped96[12] = { [10] = 0xff, [11] = 0xff };
static const uint8_t compat96[12];

/* An address as judged: IPv4 (native or embedded in IPv6) or IPv6. */
struct naddr {
	int		 v4;
	uint8_t		 a[16];		/* a[0..4) if v4 */
	const uint8_t	*pfx96;		/* v4: the /96 an IPv6 entry must sit in */
};

static int
in_prefix(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned	full = prefix / 8, rem = prefix % 8;
	uint8_t		mask;

	if (memcmp(a, net, full) != 0)
		return 0;
	if (rem == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[full] & mask) == (net[full] & mask);
}

static int
normalize(const struct sockaddr *sa, struct naddr *n)
{
	const uint8_t *b;

	memset(n, 0, sizeof(*n));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(n->a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		n->v4 = 1;
		n->pfx96 = mapped96;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(b, mapped96, 12) == 0 ||
	    (memcmp(b, compat96, 12) == 0 &&
	    !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1))) {
		n->v4 = 1;
		n->pfx96 = b[10] ? mapped96 : compat96;
		memcpy(n->a, b + 12, 4);
	} else
		memcpy(n->a, b, 16);
	return 0;
}

static const struct rule *
find(const struct rule *r, size_t nr, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (in_prefix(a, r[i].addr, r[i].prefix))
			return &r[i];
	return NULL;
}

/*
 * The prefix length, in the judged family, of an allow entry that covers
 * the address; -1 if it does not.
 */
static int
entry_covers(const struct net_cidr *e, const struct naddr *n)
{
	if (n->v4) {
		if (e->family == AF_INET)
			return in_prefix(n->a, e->addr, e->prefix) ?
			    (int)e->prefix : -1;
		if (e->family == AF_INET6 && e->prefix >= 96 &&
		    memcmp(e->addr, n->pfx96, 12) == 0)
			return in_prefix(n->a, e->addr + 12, e->prefix - 96) ?
			    (int)e->prefix - 96 : -1;
		return -1;
	}
	if (e->family == AF_INET6 && in_prefix(n->a, e->addr, e->prefix))
		return (int)e->prefix;
	return -1;
}

enum net_verdict
net_check(const struct sockaddr *sa, const struct net_cidrs *allow,
    const char **reason)
{
	struct naddr		 n;
	const struct rule	*deny, *meta;
	const char		*dummy;
	size_t			 i;
	int			 best = -1, p;

	if (reason == NULL)
		reason = &dummy;
	if (normalize(sa, &n) == -1) {
		*reason = "not an IP address";
		return NET_DENIED;
	}
	if (n.v4) {
		deny = find(deny4, sizeof(deny4) / sizeof(deny4[0]), n.a);
		meta = find(meta4, sizeof(meta4) / sizeof(meta4[0]), n.a);
	} else {
		deny = find(deny6, sizeof(deny6) / sizeof(deny6[0]), n.a);
		meta = find(meta6, sizeof(meta6) / sizeof(meta6[0]), n.a);
	}
	for (i = 0; allow != NULL && i < allow->n; i++)
		if ((p = entry_covers(&allow->v[i], &n)) > best)
			best = p;
	if (best >= 0) {
		/* Covered by an entry that lies inside the metadata range? */
		if (meta != NULL && best < (int)meta->prefix) {
			*reason = meta->reason;
			return NET_DENIED;
		}
		*reason = "allowed by the allowlist";
		return NET_ALLOWED;
	}
	if (deny != NULL) {
		*reason = deny->reason;
		return NET_DENIED;
	}
	*reason = "public address";
	return NET_ALLOWED;
}

const char *
net_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a;

	if (sa != NULL && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa != NULL && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		a = NULL;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/* A token for an error message: bounded, printable. */
static void
shown(char *dst, size_t cap, const char *s, size_t len)
{
	size_t i, n;

	n = len < cap - 4 ? len : cap - 4;
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (n < len)
		memcpy(dst + n, "...", 3), n += 3;
	dst[n] = '\0';
}

static int
parse_one(const char *tok, size_t len, struct net_cidr *c, char *err,
    size_t errlen)
{
	char		 a[INET6_ADDRSTRLEN + 1], show[64], hint[INET6_ADDRSTRLEN];
	const char	*slash, *p;
	size_t		 alen, i;
	unsigned	 max = 32, prefix;
	uint8_t		 net[16];

	shown(show, sizeof(show), tok, len);
	slash = memchr(tok, '/', len);
	alen = slash ? (size_t)(slash - tok) : len;
	if (alen == 0 || alen >= sizeof(a))
		goto badaddr;
	memcpy(a, tok, alen);
	a[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (memchr(a, ':', alen) != NULL) {
		c->family = AF_INET6;
		max = 128;
	} else {
		c->family = AF_INET;
		max = 32;
	}
	if (inet_pton(c->family, a, c->addr) != 1)
		goto badaddr;
	prefix = max;
	if (slash != NULL) {
		p = slash + 1;
		if (p == tok + len || tok + len - p > 3)
			goto badprefix;
		for (prefix = 0; p < tok + len; p++) {
			if (*p < '0' || *p > '9')
				goto badprefix;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
		if (prefix > max)
			goto badprefix;
	}
	c->prefix = prefix;
	memset(net, 0, sizeof(net));
	for (i = 0; i < max / 8; i++) {
		if (i < prefix / 8)
			net[i] = c->addr[i];
		else if (i == prefix / 8 && prefix % 8)
			net[i] = c->addr[i] & (uint8_t)(0xff << (8 - prefix % 8));
	}
	if (memcmp(net, c->addr, max / 8) != 0) {
		inet_ntop(c->family, net, hint, sizeof(hint));
		snprintf(err, errlen, "invalid CIDR \"%s\": bits set past the "
		    "prefix (did you mean %s/%u?)", show, hint, prefix);
		return -1;
	}
	return 0;

badaddr:
	snprintf(err, errlen, "invalid CIDR \"%s\": not an IPv4 or IPv6 address",
	    show);
	return -1;
badprefix:
	snprintf(err, errlen, "invalid CIDR \"%s\": the prefix length must be "
	    "0 to %u", show, max);
	return -1;
}

int
net_parse_cidrs(const char *list, struct net_cidrs *out, char *err,
    size_t errlen)
{
	static const char	 sep[] = ", \t\r\n";
	const char		*p = list;
	size_t			 len;

	out->n = 0;
	if (p == NULL)
		return 0;
	for (;;) {
		p += strspn(p, sep);
		if (*p == '\0')
			return 0;
		len = strcspn(p, sep);
		if (out->n == NET_CIDRS_MAX) {
			snprintf(err, errlen, "too many CIDRs (at most %d)",
			    NET_CIDRS_MAX);
			out->n = 0;
			return -1;
		}
		if (parse_one(p, len, &out->v[out->n], err, errlen) == -1) {
			out->n = 0;
			return -1;
		}
		out->n++;
		p += len;
	}
}
