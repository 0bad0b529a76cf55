#include "cmd.h"

#include "perfmatrix/point.h"
#include "perfmatrix/proc.h"
#include "perfmatrix/record.h"
#include "perfmatrix/sweep.h"
#include "pmbase/child.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes one word quoted for hyperfine's shell-free command splitting; the
 * whole word, however long. */
static void pm__quote(FILE *f, const char *word)
{
    fputc('\'', f);
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            fputs("'\\''", f);
        else
            fputc(*p, f);
    }
    fputc('\'', f);
}

int pm__cmd_command(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},       {"runs", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'},     {"timeout-sec", required_argument, NULL, 't'},
        {"output-dir", required_argument, NULL, 'o'}, {"hyperfine", required_argument, NULL, 'h'},
        {"setup-arg", required_argument, NULL, 's'},  {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL, *hyperfine = "hyperfine";
    char *setup[64];
    size_t nsetup = 0;
    int runs = 10, warmup = 1, c;
    double timeout = 120;
    bool ok = true;
    while (ok && (c = pm__getopt("command", argc, argv, opts)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'r':
            ok = pm__int_opt("command", opts, c, 2, 1 << 20, &runs);
            break;
        case 'w':
            ok = pm__int_opt("command", opts, c, 0, 1 << 20, &warmup);
            break;
        case 't':
            ok = pm__double_opt("command", opts, c, 0.001, 86400, &timeout);
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            hyperfine = optarg;
            break;
        case 's':
            ok = nsetup + 1 < sizeof setup / sizeof setup[0];
            if (ok)
                setup[nsetup++] = optarg;
            else
                fprintf(stderr, "perfmatrix command: option '--setup-arg' '%s': at most %zu\n",
                        optarg, sizeof setup / sizeof setup[0] - 1);
            break;
        default:
            return PM_EXIT_USAGE;
        }
    }
    if (!ok)
        return PM_EXIT_USAGE;
    if (!name || optind >= argc)
        return pm__usage("command", "--name and a command after -- are required", NULL);
    char hf[PM_PATH_LEN], err[PM_ERR_LEN];
    if (!pmb_program_find(hyperfine, hf, sizeof hf)) {
        printf("skipped: hyperfine is not installed\n");
        return PM_EXIT_SKIPPED;
    }
    double start = pm_now();
    if (nsetup > 0) {
        setup[nsetup] = NULL;
        pm_child child;
        if (!pm_run_child(setup, timeout, 0, true, &child, err, sizeof err)) {
            fprintf(stderr, "perfmatrix command: setup: %s\n", err);
            return PM_EXIT_FAILED;
        }
        int rc = child.timed_out ? -1 : child.exit_code;
        pm_child_free(&child);
        if (rc != 0) {
            fprintf(stderr, "perfmatrix command: %s: the setup command %s (exit %d)\n", name,
                    rc < 0 ? "timed out" : "failed", rc);
            return PM_EXIT_FAILED;
        }
    }
    char *cmdline = NULL;
    size_t cmdline_len = 0;
    FILE *cl = open_memstream(&cmdline, &cmdline_len);
    for (int i = optind; cl && i < argc; i++) {
        if (i > optind)
            fputc(' ', cl);
        pm__quote(cl, argv[i]);
    }
    if (!cl || fclose(cl) != 0 || !cmdline) {
        free(cmdline);
        fprintf(stderr, "perfmatrix command: out of memory for the command line\n");
        return PM_EXIT_FAILED;
    }
    char json_path[] = "/tmp/perfmatrix-hyperfine-XXXXXX";
    int fd = mkstemp(json_path);
    if (fd < 0) {
        fprintf(stderr, "perfmatrix command: mkstemp: %s\n", strerror(errno));
        free(cmdline);
        return PM_EXIT_FAILED;
    }
    close(fd);
    char runs_s[16], warm_s[16];
    snprintf(runs_s, sizeof runs_s, "%d", runs);
    snprintf(warm_s, sizeof warm_s, "%d", warmup);
    char *hargv[] = {hf,         "-N",   "--style",       "basic",   "--runs", runs_s,
                     "--warmup", warm_s, "--export-json", json_path, cmdline,  NULL};
    pm_child child;
    double left = timeout - (pm_now() - start);
    bool started = pm_run_child(hargv, left > 1 ? left : 1, 0, true, &child, err, sizeof err);
    free(cmdline);
    if (!started) {
        fprintf(stderr, "perfmatrix command: %s\n", err);
        unlink(json_path);
        return PM_EXIT_FAILED;
    }
    int rc = child.exit_code;
    bool timed_out = child.timed_out;
    pm_child_free(&child);
    char *text = pm_read_file(json_path, err, sizeof err);
    unlink(json_path);
    cJSON *obj = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *result = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "results"), 0);
    if (timed_out || rc != 0 || !cJSON_IsObject(result)) {
        fprintf(stderr, "perfmatrix command: %s: %s\n", name,
                timed_out ? "killed after the timeout (timeout_killed=1)"
                          : "hyperfine failed or wrote no result");
        cJSON_Delete(obj);
        return PM_EXIT_FAILED;
    }
    static const char *fields[] = {"mean", "stddev", "median", "min", "max", "user", "system"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, fields[i]);
        char mname[32];
        snprintf(mname, sizeof mname, "%s_s", fields[i]);
        if (cJSON_IsNumber(v))
            pm_print_measurement(mname, v->valuedouble);
    }
    cJSON_AddStringToObject(result, "kind", "command");
    cJSON_AddStringToObject(result, "name", name);
    pm__record_aux(pm__output_dir(out), "cmd_", name, result);
    cJSON_Delete(obj);
    return PM_EXIT_OK;
}
