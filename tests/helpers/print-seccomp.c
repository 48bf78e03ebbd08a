/* Prints the sandbox's seccomp policy, one line per rule (shell/seccomp.h). */
#include "shell/seccomp.h"

#include <stdio.h>

int main(void)
{
	sandbox_seccomp_print(stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
