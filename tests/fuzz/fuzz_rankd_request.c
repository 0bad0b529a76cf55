/* Fuzzes the request parser. */
#include "rankd/rankd.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t user_id;
    rankd_error err;
    int rc = rankd_request_parse((const char *)data, size, &user_id, &err);
    if (rc != RANKD_OK && (rc != RANKD_EINPUT || err.msg[0] == '\0'))
        abort();
    return 0;
}
