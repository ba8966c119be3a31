/*
 * forkrate: the machine's raw fork+exec+wait rate for one program, the
 * yardstick for hivejobd's throughput. usage: forkrate PROGRAM N
 * Prints the rate in runs per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec	 a, b;
	char		*args[2];
	long		 n, i;
	int		 st;
	pid_t		 pid;
	double		 s;

	if (argc != 3) {
		fprintf(stderr, "usage: forkrate PROGRAM N\n");
		return 64;
	}
	args[0] = argv[1];
	args[1] = NULL;
	n = atol(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1)
			return 71;
		if (pid == 0) {
			execv(args[0], args);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
			return 70;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.1f\n", n / s);
	return 0;
}
