/* ssdc help --man: the man page ssdc.1 in roff, made from the same usage
 * strings `ssdc help` and `ssdc CMD --help` print (the build captures it; see
 * meson.build).  Nothing here is written by hand per command: the commands
 * are the ones the top-level usage lists, and each one's section is its own
 * --help text, captured by running it.
 *
 * The usage texts follow one layout, which is what this parses:
 *   usage: ssdc ...                     first line (synopsis)
 *   Plain text.                         paragraphs (blank-line separated)
 *   options:                            an unindented line ending in ':'
 *     --flag ARG     description        2-space indent: a term, 2+ spaces, text
 *                    more text          deeper indent: continues the text
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/* Writes s[0..n) as roff text: backslashes escaped, a leading '.' or '\''
 * protected; with hyphens, '-' becomes "\-" (options, commands). */
static void roff_text(const char *s, size_t n, int hyphens)
{
    if (n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", stdout);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", stdout);
        else if (s[i] == '-' && hyphens)
            fputs("\\-", stdout);
        else
            putchar(s[i]);
    }
}

/* A synopsis or option term: words starting with an upper-case letter are
 * (or in <angle brackets>) are metavariables (italic), the rest literal
 * (bold). */
static void roff_term(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == ' ') {
            putchar(' ');
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        /* brackets and commas stay outside the font change: "[options]" */
        size_t a = i, b = j;
        while (a < b && strchr("[(", s[a]))
            a++;
        while (b > a && strchr("]),", s[b - 1]))
            b--;
        if (b > a && strspn(s + a, ".") >= b - a) /* "..." */
            a = b;
        roff_text(s + i, a - i, 1);
        if (b > a) {
            int meta = (s[a] >= 'A' && s[a] <= 'Z') || s[a] == '<';
            fputs(meta ? "\\fI" : "\\fB", stdout);
            roff_text(s + a, b - a, 1);
            fputs("\\fR", stdout);
        }
        roff_text(s + b, j - b, 1);
        i = j;
    }
}

static size_t indent_of(const char *s)
{
    size_t k = 0;
    while (s[k] == ' ')
        k++;
    return k;
}

/* Length of the term of an item line (from its first character to the
 * first run of 2+ spaces), and where its description starts (0: none). */
static size_t split_item(const char *s, size_t n, size_t *desc)
{
    *desc = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == ' ' && s[i + 1] == ' ') {
            size_t j = i;
            while (j < n && s[j] == ' ')
                j++;
            if (j < n)
                *desc = j;
            return i;
        }
    }
    return n;
}

typedef struct {
    const char *s;
    size_t n;
} line;

/* Splits text into lines (pointers into text). */
static line *split_lines(const char *text, int *count)
{
    int cap = 16, n = 0;
    line *v = malloc((size_t)cap * sizeof *v);
    const char *p = text;
    while (v && *p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (n == cap) {
            line *nv = realloc(v, (size_t)(cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                return NULL;
            }
            v = nv;
        }
        v[n].s = p;
        v[n++].n = len;
        p += len + (e ? 1 : 0);
    }
    *count = n;
    return v;
}

/* Prints lines [from, to) of a usage text as roff: paragraphs, labels,
 * items.  Returns nothing; unknown shapes fall back to plain text. */
static void roff_body(const line *l, int from, int to)
{
    int in_par = 0, in_item = 0;
    for (int i = from; i < to; i++) {
        const char *s = l[i].s;
        size_t n = l[i].n, ind = indent_of(s);
        if (ind == n) { /* blank */
            in_par = in_item = 0;
            continue;
        }
        if (ind == 0 && s[n - 1] == ':' && !in_par) { /* a label: "options:" */
            fputs(".PP\n.I ", stdout);
            roff_text(s, n - 1, 0);
            putchar('\n');
            in_item = 0;
            continue;
        }
        if (ind == 0) { /* paragraph text */
            if (!in_par)
                fputs(".PP\n", stdout);
            roff_text(s, n, 0);
            putchar('\n');
            in_par = 1;
            in_item = 0;
            continue;
        }
        if (ind == 2) { /* a new item: term + description */
            size_t desc;
            size_t tl = split_item(s + ind, n - ind, &desc);
            fputs(".TP\n", stdout);
            roff_term(s + ind, tl);
            putchar('\n');
            if (desc) {
                roff_text(s + ind + desc, n - ind - desc, 0);
                putchar('\n');
            }
            in_item = 1;
            in_par = 0;
            continue;
        }
        /* deeper indent: continues an item, else preformatted */
        if (in_item) {
            roff_text(s + ind, n - ind, 0);
            putchar('\n');
        } else {
            fputs(".nf\n", stdout);
            roff_text(s, n, 0);
            fputs("\n.fi\n", stdout);
        }
    }
}

/* Runs dispatch(ssdc NAME --help) with stdout captured; malloc'd text or NULL. */
static char *capture_help(const char *name, int (*dispatch)(int, char **))
{
    FILE *tmp = tmpfile();
    if (!tmp)
        return NULL;
    fflush(stdout);
    int saved = dup(1);
    if (saved < 0 || dup2(fileno(tmp), 1) < 0) {
        fclose(tmp);
        if (saved >= 0)
            close(saved);
        return NULL;
    }
    char a0[] = "ssdc", a2[] = "--help";
    char *a1 = malloc(strlen(name) + 1);
    int rc = 1;
    if (a1) {
        strcpy(a1, name);
        char *argv[] = {a0, a1, a2, NULL};
        rc = dispatch(3, argv);
    }
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    free(a1);
    char *text = NULL;
    long len = ftell(tmp);
    if (rc == 0 && len > 0 && fseek(tmp, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1))) {
        size_t got = fread(text, 1, (size_t)len, tmp);
        text[got] = 0;
    }
    fclose(tmp);
    return text;
}

int cli_man(const char *usage, const char *version, int (*dispatch)(int, char **))
{
    int n;
    line *l = split_lines(usage, &n);
    if (!l)
        return cli_errorf("out of memory");
    /* the top-level usage: synopsis, description, commands: block, notes */
    int cmd_start = -1, cmd_end = n;
    for (int i = 0; i < n; i++)
        if (l[i].n == 9 && !strncmp(l[i].s, "commands:", 9)) {
            cmd_start = i + 1;
            break;
        }
    if (cmd_start < 0 || n == 0 || strncmp(l[0].s, "usage: ", 7)) {
        free(l);
        return cli_errorf("help --man: the usage text has no 'usage:' line or 'commands:' block");
    }
    for (int i = cmd_start; i < n; i++)
        if (indent_of(l[i].s) == l[i].n) {
            cmd_end = i;
            break;
        }

    printf(".\\\" Generated by 'ssdc help --man' from the usage texts of ssdc %s.\n", version);
    printf(".\\\" Do not edit: change the --help strings in cli/ instead.\n");
    printf(".TH SSDC 1 \"\" \"ssdc %s\" \"User Commands\"\n", version);
    fputs(".nh\n.ad l\n", stdout); /* no hyphenation, ragged right: flags stay whole */

    /* NAME: the description's first sentence, without its leading "ssdc " */
    fputs(".SH NAME\nssdc \\- ", stdout);
    int desc = 1;
    while (desc < cmd_start - 1 && indent_of(l[desc].s) == l[desc].n)
        desc++;
    const char *d = l[desc].s;
    size_t dn = l[desc].n;
    if (dn > 5 && !strncmp(d, "ssdc ", 5)) {
        d += 5;
        dn -= 5;
    }
    const char *dot = memchr(d, '.', dn);
    roff_text(d, dot ? (size_t)(dot - d) : dn, 0);
    fputs("\n.SH SYNOPSIS\n", stdout);
    roff_term(l[0].s + 7, l[0].n - 7);
    fputs("\n.SH DESCRIPTION\n", stdout);
    roff_body(l, 1, cmd_start - 1);
    /* the notes after the commands; "Exit status: ..." gets its own section */
    int exit_line = -1;
    for (int i = cmd_end; i < n; i++)
        if (l[i].n > 12 && !strncmp(l[i].s, "Exit status:", 12))
            exit_line = i;
    roff_body(l, cmd_end, exit_line >= 0 ? exit_line : n);
    fputs(".SH COMMANDS\n", stdout);
    roff_body(l, cmd_start, cmd_end);
    if (exit_line >= 0) {
        fputs(".SH \"EXIT STATUS\"\n", stdout);
        size_t skip = 12 + strspn(l[exit_line].s + 12, " ");
        roff_text(l[exit_line].s + skip, l[exit_line].n - skip, 0);
        putchar('\n');
        roff_body(l, exit_line + 1, n);
    }
    fputs(".SH \"COMMAND REFERENCE\"\n", stdout);

    /* one section per command, from its own --help */
    for (int i = cmd_start; i < cmd_end; i++) {
        if (indent_of(l[i].s) != 2)
            continue;
        const char *name = l[i].s + 2;
        size_t nl = 0;
        while (nl < l[i].n - 2 && name[nl] != ' ')
            nl++;
        char cmd[64];
        if (nl == 0 || nl >= sizeof cmd)
            continue;
        memcpy(cmd, name, nl);
        cmd[nl] = 0;
        if (!strcmp(cmd, "help") || !strcmp(cmd, "version"))
            continue;
        char *text = capture_help(cmd, dispatch);
        if (!text) {
            free(l);
            return cli_errorf("help --man: 'ssdc %s --help' printed nothing", cmd);
        }
        int m;
        line *c = split_lines(text, &m);
        if (!c) {
            free(text);
            free(l);
            return cli_errorf("out of memory");
        }
        printf(".SS \"ssdc %s\"\n", cmd);
        int body = 0;
        if (m > 0 && !strncmp(c[0].s, "usage: ", 7)) {
            fputs(".nf\n", stdout);
            roff_term(c[0].s + 7, c[0].n - 7);
            fputs("\n.fi\n", stdout);
            body = 1;
        }
        roff_body(c, body, m);
        free(c);
        free(text);
    }
    free(l);
    fflush(stdout);
    return ferror(stdout) ? cli_errorf("help --man: cannot write the man page") : 0;
}
