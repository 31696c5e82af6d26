// Module entry: the magic block PostgreSQL checks when it loads vectordb.so.
#include "pg/pg.h"

extern "C" {
PG_MODULE_MAGIC;
}
