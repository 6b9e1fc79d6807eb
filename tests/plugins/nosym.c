/*
 * nosym.c - test-only shared object that is not an asockd plugin: it
 * exports no asockd_plugin symbol.  The daemon must refuse it at start-up
 * with an error naming the file.
 */
int	 nosym_answer(void);

int
nosym_answer(void)
{
	return 42;
}
