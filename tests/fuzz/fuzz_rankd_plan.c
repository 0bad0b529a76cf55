/* Fuzzes the plan loader: any bytes must give a plan or RANKD_EINPUT with a
 * message, never a crash, a leak or a hang. */
#include "rankd/rankd.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rankd_plan *plan = NULL;
    rankd_error err;
    int rc = rankd_plan_parse((const char *)data, size, "fuzz.json", &plan, &err);
    if (rc == RANKD_OK) {
        /* A valid plan must also run. */
        rankd_request *req = NULL;
        rankd_thread_ctx *ctx = NULL;
        if (!plan->has_io && rankd_request_create(plan, &req, &err) == RANKD_OK &&
            rankd_thread_ctx_create(NULL, &ctx, &err) == RANKD_OK) {
            rankd_request_reset(req, 1);
            rankd_run_sync(req, ctx);
            free(rankd_response_json(req));
        }
        rankd_thread_ctx_free(ctx);
        rankd_request_free(req);
        rankd_plan_free(plan);
    } else if (rc != RANKD_EINPUT || err.msg[0] == '\0') {
        abort();
    }
    return 0;
}
