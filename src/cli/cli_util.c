/*
 * cli_util.c — option parsing, error messages, JSON and progress output for the commands.
 *
 * Own option parser (no getopt_long): --name VALUE, --name=VALUE, -k VALUE, -kVALUE, flags,
 * "--" to end options; --help / -h answered from the command's option table.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "cli_parallel.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cli_print_help(const cli_command *cmd, FILE *fp) {
    fprintf(fp, "usage: faceemd %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (!cmd->options || !cmd->options[0].name) {
        fprintf(fp, "\noptions:\n  -h, --help              show this help\n");
        return;
    }
    fprintf(fp, "\noptions:\n");
    for (const cli_option *o = cmd->options; o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(fp, "  %-26s %s\n", left, o->help);
    }
    fprintf(fp, "  %-26s %s\n", "-h, --help", "show this help");
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "faceemd %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'faceemd %s --help')\n", cmd);
    return CLI_USAGE;
}

int cli_fail(const char *subject, fe_status st) {
    const char *detail = fe_last_error();
    fprintf(stderr, "faceemd: %s: %s%s%s\n", subject, fe_status_str(st), detail[0] ? ": " : "", detail);
    return CLI_FAIL;
}

static const cli_option *find_long(const cli_option *opts, const char *name, size_t len) {
    for (const cli_option *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    return NULL;
}

static const cli_option *find_short(const cli_option *opts, char c) {
    for (const cli_option *o = opts; o && o->name; o++)
        if (o->short_name == c) return o;
    return NULL;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, int *n_pos) {
    int np = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == 0) {
            argv[1 + np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) { only_pos = 1; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(cmd, stdout);
            return CLI_OK;
        }
        const cli_option *o;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(cmd->options, a + 2, len);
            if (!o) return cli_usage_error(cmd->name, "unknown option '%s'", a);
            if (eq) {
                if (!o->arg) return cli_usage_error(cmd->name, "option '--%s' takes no value", o->name);
                val = eq + 1;
            }
        } else {
            o = find_short(cmd->options, a[1]);
            if (!o) return cli_usage_error(cmd->name, "unknown option '%s'", a);
            if (a[2]) {
                if (!o->arg) return cli_usage_error(cmd->name, "option '-%c' takes no value", a[1]);
                val = a + 2;
            }
        }
        if (o->arg) {
            if (!val) {
                if (i + 1 >= argc)
                    return cli_usage_error(cmd->name, "option '--%s' needs a value (%s)", o->name, o->arg);
                val = argv[++i];
            }
            *o->value = val;
        } else {
            *o->flag = 1;
        }
    }
    *n_pos = np;
    if (np < cmd->min_pos)
        return cli_usage_error(cmd->name, "expected %s%d argument%s, got %d",
                               cmd->max_pos == cmd->min_pos ? "" : "at least ", cmd->min_pos,
                               cmd->min_pos == 1 ? "" : "s", np);
    if (cmd->max_pos >= 0 && np > cmd->max_pos)
        return cli_usage_error(cmd->name, "expected at most %d argument%s, got %d", cmd->max_pos,
                               cmd->max_pos == 1 ? "" : "s", np);
    return -1;
}

int cli_parse_long(const char *s, long lo, long hi, const char *what, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "faceemd: %s must be an integer in [%ld, %ld], got '%s'\n", what, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_float(const char *s, double lo, double hi, const char *what, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "faceemd: %s must be a number in [%g, %g], got '%s'\n", what, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

void cli_json_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
            else fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

void cli_json_float(FILE *fp, double v) {
    if (isfinite(v)) fprintf(fp, "%.9g", v);
    else fputs("null", fp);
}

void cli_json_floats(FILE *fp, const float *v, size_t n) {
    fputc('[', fp);
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(',', fp);
        cli_json_float(fp, (double)v[i]);
    }
    fputc(']', fp);
}

void cli_json_doubles(FILE *fp, const double *v, size_t n) {
    fputc('[', fp);
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", fp);
        cli_json_float(fp, v[i]);
    }
    fputc(']', fp);
}

void cli_json_field(FILE *fp, const char *key, double v) {
    fprintf(fp, ", \"%s\": ", key);
    cli_json_float(fp, v);
}

void cli_json_field_string(FILE *fp, const char *key, const char *s) {
    fprintf(fp, ", \"%s\": ", key);
    cli_json_string(fp, s);
}

void cli_progress_begin(cli_progress *p, const char *label, size_t total) {
    p->label = label;
    p->total = total;
    p->enabled = isatty(2) && !getenv("FE_NO_PROGRESS");
    p->start_s = cli_now();
    p->last_draw_s = 0;
}

void cli_progress_update(cli_progress *p, size_t done) {
    if (!p->enabled) return;
    double t = cli_now();
    if (done < p->total && t - p->last_draw_s < 0.1) return;
    p->last_draw_s = t;
    int width = 30;
    int fill = p->total ? (int)((double)width * (double)done / (double)p->total) : width;
    double el = t - p->start_s, rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 && p->total > done ? (double)(p->total - done) / rate : 0;
    fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu  %.1f/s  eta %.0fs ", p->label, fill,
            "##############################", width - fill, "", done, p->total, rate, eta);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (!p->enabled) return;
    cli_progress_update(p, p->total);
    fputc('\n', stderr);
}

const char *cli_default_model_path(void) {
    const char *env = getenv("FE_MODEL");
    if (env && *env) return env;
    /* next to the binary: <repo>/bin/faceemd -> <repo>/weights/faceres.feb */
    static char path[4096];
    char exe[4000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            slash = strrchr(exe, '/');
            if (slash) {
                *slash = 0;
                snprintf(path, sizeof path, "%s/weights/faceres.feb", exe);
                if (access(path, R_OK) == 0) return path;
            }
        }
    }
    return "weights/faceres.feb";
}
