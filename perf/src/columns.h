/* A row type described by a table of its columns (name, type, place in the
 * struct): one table drives the CSV header, the CSV rows, the JSON objects
 * and the parsers of that row type, so its formats cannot drift apart. The
 * engine points (record.c) and the VM runs (vm.c) each have one table.
 * Private to perf/src. */
#ifndef PERFMATRIX_COLUMNS_H
#define PERFMATRIX_COLUMNS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { PM__COL_STR, PM__COL_INT, PM__COL_LONG, PM__COL_DBL } pm__col_type;

typedef struct {
    const char *name;
    pm__col_type type;
    size_t offset;
    size_t size;
} pm__column;

#define PM__COLUMN(row_type, field, type)                                                          \
    {                                                                                              \
#field, type, offsetof(row_type, field), sizeof(((row_type *)0)->field)                    \
    }

typedef struct {
    const char *kind; /* the result object's "kind" */
    const pm__column *v;
    size_t n;
    int digits; /* significant digits of a double in the CSV */
} pm__row_table;

/* Makes every double column of row NaN: unmeasured until a run says
 * otherwise. */
void pm__columns_unmeasured(const pm__row_table *t, void *row);

/* The CSV header: the column names, comma-separated, cut to fit len. */
void pm__columns_header(const pm__row_table *t, char *out, size_t len);

/* One CSV line. Text is quoted when it holds a comma or a quote, and line
 * breaks become spaces so one row stays one line; a NaN double stays an
 * empty cell rather than a fake zero. */
void pm__columns_write_csv(const pm__row_table *t, FILE *f, const void *row);

/* The result object: "kind", then every column (NaN as null). NULL when out
 * of memory. */
cJSON *pm__columns_to_json(const pm__row_table *t, const void *row);

/* Fills row from a result object: absent and null fields stay as they are;
 * a field of the wrong JSON type, text its field cannot hold whole, or a
 * number its type cannot hold exactly fails with err naming the field. */
bool pm__columns_from_json(const pm__row_table *t, const cJSON *obj, void *row, char *err,
                           size_t errlen);

/* Sets one column from CSV text under the same rules (an empty double is
 * NaN, an empty integer an error). */
bool pm__columns_set_text(const pm__column *col, void *row, const char *text, char *err,
                          size_t errlen);

/* Appends one row of size bytes to the growing array v of *n rows with room
 * for *cap, and returns the array (moved when it grew). Running out of
 * memory aborts, as the pmbase allocation policy says. */
void *pm__rows_append(void *v, size_t *n, size_t *cap, size_t size, const void *row);

#endif
