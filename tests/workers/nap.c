/*
 * nap: a test worker that sleeps the "ms" member of its args (milliseconds,
 * default 100) and exits 0: jobs short enough to be many, long enough that
 * a crash or a stop finds several of them running (test_survive).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	static char	 doc[1 << 16];
	struct timespec	 ts;
	size_t		 len = 0;
	ssize_t		 n;
	const char	*p;
	long		 ms = 100;

	while (len < sizeof(doc) - 1 &&
	    (n = read(0, doc + len, sizeof(doc) - 1 - len)) > 0)
		len += (size_t)n;
	doc[len] = '\0';
	if ((p = strstr(doc, "\"args\":")) != NULL && (p = strstr(p, "\"ms\":")) != NULL)
		ms = strtol(p + 5, NULL, 10);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return 0;
}
