/* A stand-in CDash server for the dashboard test: it listens on 127.0.0.1
 * on a free port, stores the body of every PUT or POST under --store (named
 * after the FileName query argument ctest_submit sends), and answers like
 * CDash's submit.php: <status>OK</status>, or ERROR with --mode error.
 * It daemonizes once listening (the port goes to --port-file), and exits on
 * GET /quit or after --lifetime-sec, whichever comes first.
 * Exit codes: 0 listening, 1 runtime failure, 2 bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *store;
    bool error_mode;
    volatile sig_atomic_t quit;
    int seq;
} receiver;

typedef struct {
    char *body;
    size_t len;
} upload;

static void store_upload(receiver *r, const char *method, const char *url, const char *file,
                         const upload *u)
{
    char path[4096];
    r->seq++;
    snprintf(path, sizeof path, "%s/%03d_%s", r->store, r->seq, file ? file : "body");
    for (char *p = path + strlen(r->store) + 1; *p; p++)
        if (*p == '/')
            *p = '_';
    FILE *f = fopen(path, "wb");
    if (f) {
        if (u->len)
            fwrite(u->body, 1, u->len, f);
        fclose(f);
    }
    char log[4096];
    snprintf(log, sizeof log, "%s/requests.log", r->store);
    FILE *l = fopen(log, "a");
    if (l) {
        fprintf(l, "%s %s %zu bytes -> %s\n", method, url, u->len, path);
        fclose(l);
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
    receiver *r = cls;
    upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *state = u;
        return MHD_YES;
    }
    if (*data_size > 0) {
        char *grown = realloc(u->body, u->len + *data_size);
        if (!grown)
            return MHD_NO;
        memcpy(grown + u->len, data, *data_size);
        u->body = grown;
        u->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    const char *text;
    if (strcmp(url, "/quit") == 0) {
        r->quit = 1;
        text = "bye\n";
    } else {
        const char *file = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "FileName");
        store_upload(r, method, url, file, u);
        text = r->error_mode ? "<cdash version=\"3.0\">\n  <status>ERROR</status>\n"
                               "  <message>Project does not exist</message>\n</cdash>\n"
                             : "<cdash version=\"3.0\">\n  <status>OK</status>\n"
                               "  <message></message>\n  <buildId>1</buildId>\n</cdash>\n";
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/xml");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode code)
{
    upload *u = *state;
    if (u) {
        free(u->body);
        free(u);
        *state = NULL;
    }
}

int main(int argc, char **argv)
{
    const char *store = NULL, *port_file = NULL, *mode = "ok";
    double lifetime = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--store") == 0)
            store = argv[i + 1];
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--lifetime-sec") == 0)
            lifetime = atof(argv[i + 1]);
    }
    if (!store || !port_file || (strcmp(mode, "ok") != 0 && strcmp(mode, "error") != 0) ||
        lifetime <= 0) {
        fprintf(stderr, "usage: pm_cdash_receiver --store DIR --port-file FILE [--mode ok|error] "
                        "[--lifetime-sec N]\n");
        return 2;
    }
    mkdir(store, 0777);
    unlink(port_file);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "pm_cdash_receiver: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid > 0) {
        /* The parent returns once the daemon listens, so the test knows
         * the port when this process exits. */
        for (int i = 0; i < 100; i++) {
            if (access(port_file, R_OK) == 0)
                return 0;
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid)
                return 1;
            usleep(50000);
        }
        fprintf(stderr, "pm_cdash_receiver: not listening after 5 s\n");
        kill(pid, SIGTERM);
        return 1;
    }
    setsid();
    /* The test runner waits for its output pipes to close; the daemon must
     * not keep them. */
    int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    receiver r = {.store = store, .error_mode = strcmp(mode, "error") == 0};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, &r, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!d)
        return 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || !info)
        return 1;
    fprintf(f, "%u\n", (unsigned)info->port);
    fclose(f);
    rename(tmp, port_file);
    time_t end = time(NULL) + (time_t)lifetime;
    while (!r.quit && time(NULL) < end)
        usleep(50000);
    MHD_stop_daemon(d);
    return 0;
}
