/* Prints the sandbox's seccomp policy, one line per rule (shell/seccomp.h);
 * with --bpf, writes the compiled BPF program to stdout instead (bench/ hands
 * it to bwrap --seccomp so that both sandboxes load the same filter). */
#include "shell/seccomp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--bpf") == 0)
		return sandbox_seccomp_export_bpf(STDOUT_FILENO) < 0 ? 1 : 0;
	sandbox_seccomp_print(stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
