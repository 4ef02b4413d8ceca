/*
 * cli.h — the thin command-line layer over the library.
 *
 * A command is `FE_VERB(name, "one-line summary") {` at the start of a line in
 * src/cli/cli_<name>.c; the Makefile collects those lines into main.c's verb table, so adding a
 * command touches one file. Each command parses its options with cli_parse (which answers
 * --help from the same table), prints errors as "faceemd: <file>: <message>", and returns the
 * exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#ifndef FE_CLI_H
#define FE_CLI_H

#include "faceemd.h"

#include <stddef.h>
#include <stdio.h>

#define FE_VERB(name, summary) int cli_##name(int argc, char **argv); int cli_##name(int argc, char **argv)

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_option {
    const char  *name;        /* long name without "--", e.g. "json"                      */
    char         short_name;  /* e.g. 'k', or 0                                           */
    const char  *arg;         /* NULL for a flag, else the value's name for help ("N")     */
    const char **value;       /* where the value goes (options with an argument)           */
    int         *flag;        /* set to 1 when the flag is given (flags)                   */
    const char  *help;        /* one line                                                 */
} cli_option;

typedef struct cli_command {
    const char       *name;     /* "embed"                                                */
    const char       *usage;    /* "[--json] FILE..."                                     */
    const char       *summary;  /* one or more lines of explanation                        */
    const cli_option *options;  /* terminated by an entry with name == NULL                 */
    int               min_pos, max_pos;  /* positional arguments allowed (max -1: any)     */
} cli_command;

/* Parses argv (argv[0] is the command name). Positional arguments are moved to the front of
 * argv[1..] and their count stored in *n_pos. Returns -1 to continue, or an exit status to
 * return now: 0 after printing --help, 2 after printing a usage error. "--" ends options. */
int cli_parse(const cli_command *cmd, int argc, char **argv, int *n_pos);
void cli_print_help(const cli_command *cmd, FILE *fp);

/* Strict numbers: the whole string must parse and lie in [lo, hi]; otherwise a usage error
 * naming the option is printed and 0 returned. */
int cli_parse_long(const char *s, long lo, long hi, const char *what, long *out);
int cli_parse_float(const char *s, double lo, double hi, const char *what, double *out);

/* "faceemd: <subject>: <status text>: <detail>" on stderr. Returns CLI_FAIL. */
int cli_fail(const char *subject, fe_status st);
/* "faceemd: <command>: <message>" + a hint to use --help. Returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* JSON output helpers (RFC 8259 escaping; floats with 9 significant digits, NaN -> null). */
void cli_json_string(FILE *fp, const char *s);
void cli_json_float(FILE *fp, double v);
void cli_json_floats(FILE *fp, const float *v, size_t n);
void cli_json_doubles(FILE *fp, const double *v, size_t n);
/* ", \"key\": value": the next member of an object already opened */
void cli_json_field(FILE *fp, const char *key, double v);
void cli_json_field_string(FILE *fp, const char *key, const char *s);

/* A progress line on stderr, drawn only when stderr is a terminal. */
typedef struct cli_progress {
    const char *label;
    size_t      total;
    int         enabled;
    double      start_s, last_draw_s;
} cli_progress;
void cli_progress_begin(cli_progress *p, const char *label, size_t total);
void cli_progress_update(cli_progress *p, size_t done);
void cli_progress_end(cli_progress *p);

/* Default model path: $FE_MODEL, else weights/faceres.feb beside the binary's repository,
 * else ./weights/faceres.feb. */
const char *cli_default_model_path(void);

#endif /* FE_CLI_H */
