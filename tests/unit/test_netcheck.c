/*
 * Unit tests of netcheck: the address policy of the outbound HTTP client,
 * over many spellings of the same address, with and without allowlists.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "netcheck.h"

static struct sockaddr_storage ss;

/* A sockaddr for a numeric address (":" means IPv6). */
static const struct sockaddr *
sa(const char *ip)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		s6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1, "%s", ip);
	} else {
		s4->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1, "%s", ip);
	}
	return (const struct sockaddr *)&ss;
}

static void
cidrs(const char *list, struct net_cidrs *out)
{
	char err[256] = "";

	cr_assert_eq(net_parse_cidrs(list, out, err, sizeof(err)), 0,
	    "%s: %s", list, err);
}

struct row {
	const char	*ip;
	int		 allowed;
	const char	*reason;	/* a substring of the reason; NULL: any */
};

static void
table(const char *allowlist, const struct row *rows, size_t n)
{
	struct net_cidrs	 allow, *a = NULL;
	const char		*why;
	size_t			 i;

	if (allowlist != NULL) {
		cidrs(allowlist, &allow);
		a = &allow;
	}
	for (i = 0; i < n; i++) {
		why = NULL;
		cr_expect_eq(net_check(sa(rows[i].ip), a, &why),
		    rows[i].allowed ? NET_ALLOWED : NET_DENIED,
		    "%s with allow \"%s\": %s (%s)", rows[i].ip,
		    allowlist ? allowlist : "(none)",
		    rows[i].allowed ? "should be allowed" : "should be denied",
		    why ? why : "no reason");
		cr_assert_not_null(why);
		if (rows[i].reason != NULL)
			cr_expect(strstr(why, rows[i].reason) != NULL,
			    "%s: reason \"%s\", want \"%s\"", rows[i].ip, why,
			    rows[i].reason);
	}
}

#define TABLE(allow, rows)	table(allow, rows, sizeof(rows) / sizeof(rows[0]))

Test(netcheck, default_policy)
{
	static const struct row rows[] = {
		{ "127.0.0.1", 0, "127.0.0.0/8 (loopback)" },
		{ "127.0.0.2", 0, "127.0.0.0/8 (loopback)" },
		{ "127.255.255.255", 0, "127.0.0.0/8" },
		{ "::ffff:127.0.0.1", 0, "127.0.0.0/8 (loopback)" },
		{ "::127.0.0.1", 0, "127.0.0.0/8 (loopback)" },
		{ "::1", 0, "::1/128 (loopback)" },
		{ "::", 0, "::/128" },
		{ "0.0.0.0", 0, "0.0.0.0/8" },
		{ "0.1.2.3", 0, "0.0.0.0/8" },
		{ "::ffff:0.0.0.0", 0, "0.0.0.0/8" },
		{ "10.1.2.3", 0, "10.0.0.0/8 (private)" },
		{ "::ffff:10.1.2.3", 0, "10.0.0.0/8" },
		{ "100.64.0.1", 0, "100.64.0.0/10" },
		{ "100.127.255.255", 0, "100.64.0.0/10" },
		{ "100.128.0.0", 1, "public" },
		{ "100.63.255.255", 1, "public" },
		{ "169.254.169.254", 0, "169.254.0.0/16" },
		{ "::ffff:169.254.169.254", 0, "169.254.0.0/16" },
		{ "172.15.255.255", 1, NULL },
		{ "172.16.0.0", 0, "172.16.0.0/12" },
		{ "172.31.255.255", 0, "172.16.0.0/12" },
		{ "172.32.0.1", 1, "public" },
		{ "192.0.0.8", 0, "192.0.0.0/24" },
		{ "192.0.1.1", 1, NULL },
		{ "192.0.2.1", 0, "192.0.2.0/24" },
		{ "192.88.99.1", 0, "192.88.99.0/24" },
		{ "192.88.98.1", 1, NULL },
		{ "192.168.1.1", 0, "192.168.0.0/16" },
		{ "192.169.0.1", 1, NULL },
		{ "198.18.0.1", 0, "198.18.0.0/15" },
		{ "198.19.255.255", 0, "198.18.0.0/15" },
		{ "198.20.0.0", 1, NULL },
		{ "198.51.100.7", 0, "198.51.100.0/24" },
		{ "203.0.113.9", 0, "203.0.113.0/24" },
		{ "224.0.0.1", 0, "224.0.0.0/4 (multicast)" },
		{ "239.255.255.250", 0, "224.0.0.0/4" },
		{ "240.0.0.1", 0, "240.0.0.0/4" },
		{ "255.255.255.255", 0, "240.0.0.0/4" },
		{ "8.8.8.8", 1, "public address" },
		{ "1.1.1.1", 1, NULL },
		{ "::ffff:8.8.8.8", 1, NULL },
		{ "2001:4860:4860::8888", 1, "public address" },
		{ "2606:4700:4700::1111", 1, NULL },
		{ "fe80::1", 0, "fe80::/10 (link-local)" },
		{ "febf:ffff::1", 0, "fe80::/10" },
		{ "fec0::1", 1, NULL },
		{ "fd00::1", 0, "fc00::/7 (unique local)" },
		{ "fc00::1", 0, "fc00::/7" },
		{ "fd00:ec2::254", 0, "fc00::/7" },
		{ "ff02::1", 0, "ff00::/8 (multicast)" },
		{ "64:ff9b::a00:1", 0, "64:ff9b::/96 (NAT64)" },
		{ "64:ff9b::8.8.8.8", 0, "64:ff9b::/96" },
		{ "64:ff9b:1::1", 0, "64:ff9b:1::/48" },
		{ "64:ff9b:2::1", 1, NULL },
		{ "100::1", 0, "100::/64" },
		{ "100:0:0:1::1", 1, NULL },
		{ "2002:7f00:1::", 0, "2002::/16 (6to4)" },
		{ "2001::1", 0, "2001::/32 (Teredo)" },
		{ "2001:0:ffff::1", 0, "2001::/32" },
		{ "2001:1::1", 1, NULL },
		{ "2001:db8::1", 0, "2001:db8::/32 (documentation)" },
	};

	TABLE(NULL, rows);
	TABLE("", rows);
}

Test(netcheck, allow_one_loopback_address)
{
	static const struct row rows[] = {
		{ "127.0.0.1", 1, "allowlist" },
		{ "::ffff:127.0.0.1", 1, "allowlist" },
		{ "127.0.0.2", 0, "127.0.0.0/8" },
		{ "::ffff:127.0.0.2", 0, "127.0.0.0/8" },
		{ "::1", 0, "::1/128" },
		{ "10.0.0.1", 0, "10.0.0.0/8" },
		{ "8.8.8.8", 1, "public" },
	};

	TABLE("127.0.0.1/32", rows);
	TABLE("127.0.0.1", rows);
	TABLE("::ffff:127.0.0.1", rows);	/* the mapped spelling, too */
}

Test(netcheck, allow_networks)
{
	static const struct row rows[] = {
		{ "10.1.2.3", 1, "allowlist" },
		{ "10.255.255.255", 1, NULL },
		{ "::ffff:10.9.9.9", 1, NULL },
		{ "11.0.0.1", 1, "public" },
		{ "192.168.1.1", 0, "192.168.0.0/16" },
		{ "fd12:3456::1", 1, "allowlist" },
		{ "fd12:3457::1", 0, "fc00::/7" },
		{ "::1", 1, "allowlist" },
		{ "127.0.0.1", 0, "127.0.0.0/8" },
	};

	TABLE("10.0.0.0/8, fd12:3456::/32\t::1", rows);
	TABLE(" 10.0.0.0/8 ,,fd12:3456::/32\n::1/128 ", rows);
}

Test(netcheck, allow_everything_but_metadata)
{
	static const struct row rows[] = {
		{ "127.0.0.1", 1, "allowlist" },
		{ "10.0.0.1", 1, NULL },
		{ "::ffff:10.0.0.1", 1, NULL },
		{ "::1", 1, NULL },
		{ "fd00::1", 1, NULL },
		{ "169.254.169.254", 0, "cloud metadata" },
		{ "169.254.0.1", 0, "169.254.0.0/16" },
		{ "::ffff:169.254.169.254", 0, "cloud metadata" },
		{ "::169.254.169.254", 0, "cloud metadata" },
		{ "100.100.100.200", 0, "cloud metadata" },
		{ "100.100.100.201", 1, NULL },
		{ "fe80::1", 0, "fe80::/10" },
		{ "fd00:ec2::254", 0, "cloud metadata" },
	};

	TABLE("0.0.0.0/0 ::/0", rows);
	TABLE("0.0.0.0/1 128.0.0.0/1 ::/1 8000::/1", rows);
}

Test(netcheck, ipv6_allow_all_does_not_open_ipv4)
{
	static const struct row rows[] = {
		{ "::ffff:127.0.0.1", 0, "127.0.0.0/8" },
		{ "::127.0.0.1", 0, "127.0.0.0/8" },
		{ "127.0.0.1", 0, "127.0.0.0/8" },
		{ "::1", 1, "allowlist" },
		{ "fd00::1", 1, "allowlist" },
	};

	TABLE("::/0", rows);
}

Test(netcheck, ipv4_allow_all_does_not_open_ipv6)
{
	static const struct row rows[] = {
		{ "::ffff:127.0.0.1", 1, "allowlist" },
		{ "::1", 0, "::1/128" },
		{ "fd00::1", 0, "fc00::/7" },
		{ "64:ff9b::7f00:1", 0, "64:ff9b::/96" },
		{ "2002:7f00:1::", 0, "2002::/16" },
	};

	TABLE("0.0.0.0/0", rows);
}

Test(netcheck, metadata_named_explicitly)
{
	static const struct row rows[] = {
		{ "169.254.169.254", 1, "allowlist" },
		{ "::ffff:169.254.169.254", 1, "allowlist" },
		{ "169.254.169.253", 0, "169.254.0.0/16" },
		{ "fe80::1", 1, "allowlist" },
		{ "fe80::2", 0, "fe80::/10" },
		{ "fd00:ec2::254", 1, "allowlist" },
		{ "100.100.100.200", 1, "allowlist" },
	};
	static const struct row rows2[] = {
		{ "169.254.169.254", 1, "allowlist" },
		{ "169.254.170.1", 0, "169.254.0.0/16" },
		{ "fe80::1", 1, "allowlist" },
		{ "fe80:1::1", 0, "fe80::/10" },
	};

	TABLE("169.254.169.254/32 fe80::1 fd00:ec2::254 100.100.100.200 "
	    "0.0.0.0/0", rows);
	TABLE("169.254.169.0/24, ::ffff:169.254.169.254/128, fe80::/64, "
	    "fd00:ec2::254, 100.100.100.200/32", rows2);
}

Test(netcheck, other_families_denied)
{
	struct sockaddr_storage	 s;
	const char		*why = NULL;

	memset(&s, 0, sizeof(s));
	s.ss_family = AF_UNIX;
	cr_assert_eq(net_check((struct sockaddr *)&s, NULL, &why), NET_DENIED);
	cr_assert_str_eq(why, "not an IP address");
	cr_assert_eq(net_check(NULL, NULL, NULL), NET_DENIED);
	cr_assert_eq(net_check(sa("8.8.8.8"), NULL, NULL), NET_ALLOWED);
}

Test(netcheck, ntop)
{
	char buf[INET6_ADDRSTRLEN];

	cr_assert_str_eq(net_ntop(sa("127.0.0.2"), buf, sizeof(buf)), "127.0.0.2");
	cr_assert_str_eq(net_ntop(sa("::ffff:127.0.0.2"), buf, sizeof(buf)),
	    "::ffff:127.0.0.2");
	cr_assert_str_eq(net_ntop(sa("fe80::1"), buf, sizeof(buf)), "fe80::1");
}

Test(netcheck, parse_forms)
{
	struct net_cidrs c;

	cidrs("", &c);
	cr_assert_eq(c.n, 0);
	cidrs(" ,\t, \n", &c);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(net_parse_cidrs(NULL, &c, NULL, 0), 0);
	cr_assert_eq(c.n, 0);
	cidrs("127.0.0.1", &c);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(c.v[0].family, AF_INET);
	cr_assert_eq(c.v[0].prefix, 32);
	cidrs("::1", &c);
	cr_assert_eq(c.v[0].family, AF_INET6);
	cr_assert_eq(c.v[0].prefix, 128);
	cidrs("10.0.0.0/8,192.168.0.0/16 0.0.0.0/0 ::/0 fe80::/10", &c);
	cr_assert_eq(c.n, 5);
	cr_assert_eq(c.v[0].prefix, 8);
	cr_assert_eq(c.v[0].addr[0], 10);
	cr_assert_eq(c.v[2].prefix, 0);
	cr_assert_eq(c.v[3].prefix, 0);
	cr_assert_eq(c.v[4].prefix, 10);
	cr_assert_eq(c.v[4].addr[0], 0xfe);
	cr_assert_eq(c.v[4].addr[1], 0x80);
	cidrs("172.16.0.0/12 ::ffff:127.0.0.0/104 2001:db8::/032", &c);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.v[2].prefix, 32);
}

static void
parse_err(const char *list, const char *want)
{
	struct net_cidrs	c;
	char			err[256] = "";

	c.n = 99;
	cr_expect_eq(net_parse_cidrs(list, &c, err, sizeof(err)), -1,
	    "\"%s\" parsed", list);
	cr_expect_eq(c.n, 0);
	cr_expect(strstr(err, want) != NULL, "\"%s\": error \"%s\", want \"%s\"",
	    list, err, want);
}

Test(netcheck, parse_errors)
{
	char big[4096];
	size_t i;

	parse_err("localhost", "\"localhost\": not an IPv4 or IPv6 address");
	parse_err("127.1", "not an IPv4 or IPv6 address");
	parse_err("0x7f.0.0.1", "not an IPv4 or IPv6 address");
	parse_err("2130706433", "not an IPv4 or IPv6 address");
	parse_err("127.000.0.1", "not an IPv4 or IPv6 address");
	parse_err("256.0.0.1", "not an IPv4 or IPv6 address");
	parse_err("fe80::1%eth0", "not an IPv4 or IPv6 address");
	parse_err("[::1]", "not an IPv4 or IPv6 address");
	parse_err("/8", "not an IPv4 or IPv6 address");
	parse_err("10.0.0.0/33", "prefix length must be 0 to 32");
	parse_err("::/129", "prefix length must be 0 to 128");
	parse_err("10.0.0.0/", "prefix length");
	parse_err("10.0.0.0/-1", "prefix length");
	parse_err("10.0.0.0/+8", "prefix length");
	parse_err("10.0.0.0/8/8", "prefix length");
	parse_err("10.0.0.0/0008", "prefix length");
	parse_err("10.1.0.0/8", "bits set past the prefix (did you mean 10.0.0.0/8?)");
	parse_err("127.0.0.1/8", "did you mean 127.0.0.0/8?");
	parse_err("fe80::1/10", "did you mean fe80::/10?");
	parse_err("192.168.1.5/24", "did you mean 192.168.1.0/24?");
	parse_err("10.0.0.0/8, bogus", "\"bogus\"");
	parse_err("10.0.0.0/8;192.168.0.0/16", "prefix length must be 0 to 32");
	parse_err("1.2.3.4\x1b[31m", "\"1.2.3.4?[31m\"");

	/* Too many entries; a very long token is cut in the message. */
	big[0] = '\0';
	for (i = 0; i < NET_CIDRS_MAX + 1; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
		    "10.0.%zu.0/24 ", i);
	parse_err(big, "too many CIDRs (at most 64)");
	memset(big, '1', 300);
	big[300] = '\0';
	parse_err(big, "...\": not an IPv4 or IPv6 address");
}

Test(netcheck, parse_limits)
{
	struct net_cidrs	c;
	char			big[4096], err[256];
	size_t			i;

	big[0] = '\0';
	for (i = 0; i < NET_CIDRS_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big),
		    "10.0.%zu.0/24,", i);
	cr_assert_eq(net_parse_cidrs(big, &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.n, NET_CIDRS_MAX);
}
