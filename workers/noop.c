/*
 * hivejob-noop: the smallest worker. It succeeds without reading its job,
 * which the worker contract allows; it exists to measure and test the
 * runner itself.
 */
int
main(void)
{
	return 0;
}
