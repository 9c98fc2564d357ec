/* cli_queue - placeholder until the module lands */
#include "cli.h"

int cli_queue(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return 1;
}
