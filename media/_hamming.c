/* One pass over a block of hashes for every query of an image: the Hamming distance of each
 * row from each query, and the (row, query, distance) of those within the query's radius.
 *
 * Why compiled: numpy's full scan makes a pass over memory for every operation (XOR, count,
 * add), about 6 ms for a million PDQ hashes, and one pass per query. Here each row is read
 * once and compared with every query while it sits in registers, and the popcounts run eight
 * rows to an AVX-512 instruction where the processor has VPOPCNTQ (a portable loop elsewhere).
 *
 * Layout ("blocked"): rows come in blocks of 8, word-major inside a block, so one 512-bit load
 * is one word of 8 rows: row r's word w is at ((r / 8) * words + w) * 8 + r % 8. The buffer
 * holds whole pairs of blocks (16 rows); lanes past `count` are never reported.
 *
 * Why bounds before distances (256-bit hashes, the vectorised scan): an image asks about 16
 * queries, and counting every bit of every row for each costs 3 instructions per 512 bits per
 * query, the whole pass (bench/RESULTS.md). A cheaper lower bound rejects almost every row
 * first: the bits that differ in word 0 or word 1 (one OR, one popcount a pair of words) lie
 * within radius 31 of a random row 5 times in a million, against 48 +- 3.5 bits. Queries of one
 * radius form a run; the least bound over a run and a pair of blocks is compared once, and
 * only a pair that passes is counted exactly, query by query.
 *
 * The portable loop counts exactly, row by row; a query whose radius is small is first checked
 * on its first words (HEAD_LIMITS), which almost always reject a random row.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1
#endif

#define LANES 8
#define PAIR (2 * LANES)
#define MAX_WORDS 4
/* The portable loop rejects a row on its first w words when the radius is below
 * HEAD_LIMITS[w], 3 to 4 standard deviations under a random row's distance there (64 +- 5.7
 * bits on two words), so few rows need the rest. */
static const int32_t HEAD_LIMITS[MAX_WORDS] = {0, 16, 48, 72};
static const int32_t BOUND_LIMITS[3] = {0, 32, 72}; /* see bound_pairs */

typedef struct {
    int64_t *rows;
    int32_t *queries;
    int32_t *distances;
    int64_t capacity;
    int64_t found;
} Hits;

static inline void hit(Hits *hits, int64_t row, int32_t query, int32_t distance) {
    if (hits->found < hits->capacity) {
        hits->rows[hits->found] = row;
        hits->queries[hits->found] = query;
        hits->distances[hits->found] = distance;
    }
    hits->found++;
}

/* How many of a 256-bit hash's words to read before a query at `radius` can be rejected: the
 * fewest whose distance from a random row (32 +- 4 bits a word) almost never lies within it. */
static inline int head_words(int words, int32_t radius) {
    if (words != MAX_WORDS) {
        return words;
    }
    for (int head = 1; head < MAX_WORDS; head++) {
        if (radius < HEAD_LIMITS[head]) {
            return head;
        }
    }
    return MAX_WORDS;
}

/* How many pairs of words the vectorised PDQ scan bounds a query at `radius` on before it
 * checks any row exactly (0: none, every row is checked). A bit differs from a random row in
 * one word of a pair or the other 3 times in 4: 48 +- 3.5 bits a pair. Below BOUND_LIMITS[p]
 * the bound on p pairs almost never lets a random row through (5e-6 a row at 31 on one pair,
 * 1e-6 at 71 on two). */
static inline int bound_pairs(int32_t radius) {
    return radius < BOUND_LIMITS[1] ? 1 : radius < BOUND_LIMITS[2] ? 2 : 0;
}

/* The queries grouped into runs of one radius, in the order the vectorised PDQ scan reads them. */
typedef struct {
    uint64_t *queries;   /* the queries, run after run */
    int32_t *radii;      /* each one's radius */
    int32_t *numbers;    /* each one's number as given */
    int32_t *run_starts; /* where each run starts, and where the last ends */
    int32_t runs;
} Plan;

static void scan_portable(const uint64_t *blocks, int64_t count, int words, const uint64_t *queries,
                          const int32_t *radii, int32_t k, Hits *hits) {
    for (int64_t row = 0; row < count; row++) {
        const uint64_t *block = blocks + (row / LANES) * words * LANES + row % LANES;
        for (int32_t q = 0; q < k; q++) {
            const uint64_t *query = queries + (int64_t)q * words;
            int32_t distance = 0;
            for (int w = 0; w < words; w++) {
                distance += __builtin_popcountll(block[w * LANES] ^ query[w]);
                if (w + 1 == head_words(words, radii[q]) && distance > radii[q]) {
                    break;
                }
            }
            if (distance <= radii[q]) {
                hit(hits, row, q, distance);
            }
        }
    }
}

typedef struct {
    int32_t radius, number;
} Ranked;

static int by_radius(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->radius != y->radius) {
        return x->radius < y->radius ? -1 : 1;
    }
    return (x->number > y->number) - (x->number < y->number);
}

/* Orders the (PDQ) queries into runs of one radius; -1 when there is no memory. One block of
 * memory holds it all: free(plan->queries). */
static int make_plan(const uint64_t *queries, const int32_t *radii, int32_t k, Plan *plan) {
    size_t size = (size_t)k * (MAX_WORDS * sizeof(uint64_t) + 3 * sizeof(int32_t) +
                               sizeof(Ranked)) + 2 * sizeof(int32_t);
    char *memory = malloc(size);
    if (memory == NULL) {
        return -1;
    }
    plan->queries = (uint64_t *)memory;
    plan->radii = (int32_t *)(plan->queries + (size_t)k * MAX_WORDS);
    plan->numbers = plan->radii + k;
    plan->run_starts = plan->numbers + k;
    Ranked *ranked = (Ranked *)(plan->run_starts + k + 2);
    for (int32_t q = 0; q < k; q++) {
        ranked[q] = (Ranked){radii[q], q};
    }
    qsort(ranked, (size_t)k, sizeof(Ranked), by_radius);
    plan->runs = 0;
    for (int32_t q = 0; q < k; q++) {
        memcpy(plan->queries + (size_t)q * MAX_WORDS,
               queries + (size_t)ranked[q].number * MAX_WORDS, MAX_WORDS * sizeof(uint64_t));
        plan->radii[q] = ranked[q].radius;
        plan->numbers[q] = ranked[q].number;
        if (q == 0 || ranked[q].radius != ranked[q - 1].radius) {
            plan->run_starts[plan->runs++] = q;
        }
    }
    plan->run_starts[plan->runs] = k;
    return 0;
}

#ifdef HAVE_AVX512
#define AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))

AVX512 static inline __m512i word_distance(__m512i row, uint64_t query) {
    return _mm512_popcnt_epi64(_mm512_xor_si512(row, _mm512_set1_epi64((long long)query)));
}

AVX512 static inline void report(uint32_t near, __m512i da, __m512i db, int64_t first_row,
                                  int32_t q, Hits *hits) {
    uint64_t distances[PAIR];
    _mm512_storeu_si512(distances, da);
    _mm512_storeu_si512(distances + LANES, db);
    while (near) {
        int lane = __builtin_ctz(near);
        near &= near - 1;
        hit(hits, first_row + lane, q, (int32_t)distances[lane]);
    }
}

AVX512 static inline uint32_t within(__m512i da, __m512i db, __m512i radius) {
    return _mm512_cmple_epu64_mask(da, radius) |
           ((uint32_t)_mm512_cmple_epu64_mask(db, radius) << LANES);
}

/* One query's full distance from both blocks of a pair; its hits among the `valid` rows. */
AVX512 static inline void check_query(const __m512i row[2 * MAX_WORDS], const uint64_t *query,
                                      int32_t r, int32_t number, uint32_t valid,
                                      int64_t first_row, Hits *hits) {
    __m512i da = _mm512_add_epi64(word_distance(row[0], query[0]), word_distance(row[1], query[1]));
    __m512i db = _mm512_add_epi64(word_distance(row[4], query[0]), word_distance(row[5], query[1]));
    da = _mm512_add_epi64(da, _mm512_add_epi64(word_distance(row[2], query[2]),
                                               word_distance(row[3], query[3])));
    db = _mm512_add_epi64(db, _mm512_add_epi64(word_distance(row[6], query[2]),
                                               word_distance(row[7], query[3])));
    uint32_t near = within(da, db, _mm512_set1_epi64(r)) & valid;
    if (near) {
        report(near, da, db, first_row, number, hits);
    }
}

/* x | (row ^ query): a row's bits that differ from the query in x or in this word. */
AVX512 static inline __m512i or_differing(__m512i x, __m512i row, uint64_t query) {
    return _mm512_ternarylogic_epi64(x, row, _mm512_set1_epi64((long long)query), 0xF6);
}

/* A lower bound of each row's distance from the query: the bits differing in word 0 or 1,
 * plus (with `pairs` 2) those differing in word 2 or 3. A bit differing in both words of a
 * pair counts once, so the bound costs one popcount per two words. */
AVX512 static inline __m512i bound(const __m512i *block, const uint64_t *query, int pairs) {
    __m512i near = _mm512_popcnt_epi64(
        or_differing(_mm512_xor_si512(block[0], _mm512_set1_epi64((long long)query[0])),
                     block[1], query[1]));
    if (pairs == 2) {
        near = _mm512_add_epi64(
            near, _mm512_popcnt_epi64(or_differing(
                      _mm512_xor_si512(block[2], _mm512_set1_epi64((long long)query[2])),
                      block[3], query[3])));
    }
    return near;
}

/* The least bound, over both blocks and every query of a run. */
AVX512 static inline __m512i least_bound(const __m512i row[2 * MAX_WORDS], const uint64_t *query,
                                         int32_t queries, int pairs) {
    __m512i least = _mm512_set1_epi64(-1);
    for (int32_t q = 0; q < queries; q++, query += MAX_WORDS) {
        least = _mm512_min_epu64(least, _mm512_min_epu64(bound(row, query, pairs),
                                                         bound(row + MAX_WORDS, query, pairs)));
    }
    return least;
}

/* 256-bit hashes (PDQ), two blocks (16 rows) at a time: their 8 words stay in registers while
 * the queries stream past, run by run (`Plan`). A run's queries share a radius narrow enough
 * for its head words to reject almost every pair: the least head distance over the run is
 * compared once, and only a pair that passes is checked query by query. The last pair, which
 * may hold rows past the end, is checked query by query with `valid` masking them. */
AVX512 static void scan_avx512_pdq(const uint64_t *blocks, int64_t count, const Plan *plan,
                                   Hits *hits) {
    for (int64_t first = 0; first < count; first += PAIR) {
        const uint64_t *x = blocks + first * MAX_WORDS;
        __m512i row[2 * MAX_WORDS];
        for (int w = 0; w < 2 * MAX_WORDS; w++) {
            row[w] = _mm512_loadu_si512(x + w * LANES);
        }
        uint32_t valid = count - first >= PAIR ? 0xFFFFu : (1u << (count - first)) - 1u;
        for (int32_t run = 0; run < plan->runs; run++) {
            const int32_t start = plan->run_starts[run], end = plan->run_starts[run + 1];
            const int32_t r = plan->radii[start];
            const int pairs = bound_pairs(r);
            if (pairs && valid == 0xFFFFu) {
                const uint64_t *query = plan->queries + (int64_t)start * MAX_WORDS;
                /* A constant count lets the compiler drop the branch from the inner loop. */
                __m512i least = pairs == 1 ? least_bound(row, query, end - start, 1)
                                           : least_bound(row, query, end - start, 2);
                if (!_mm512_cmple_epu64_mask(least, _mm512_set1_epi64(r))) {
                    continue;
                }
            }
            for (int32_t q = start; q < end; q++) {
                check_query(row, plan->queries + (int64_t)q * MAX_WORDS, plan->radii[q],
                            plan->numbers[q], valid, first, hits);
            }
        }
    }
}

/* Narrower hashes (pHash is one word): the same, without the check on the first words. */
AVX512 static void scan_avx512_narrow(const uint64_t *blocks, int64_t count, int words,
                                      const uint64_t *queries, const int32_t *radii, int32_t k,
                                      Hits *hits) {
    for (int64_t first = 0; first < count; first += PAIR) {
        const uint64_t *x = blocks + first * words;
        uint32_t valid = count - first >= PAIR ? 0xFFFFu : (1u << (count - first)) - 1u;
        for (int32_t q = 0; q < k; q++) {
            const uint64_t *query = queries + (int64_t)q * words;
            __m512i da = _mm512_setzero_si512(), db = _mm512_setzero_si512();
            for (int w = 0; w < words; w++) {
                da = _mm512_add_epi64(da, word_distance(_mm512_loadu_si512(x + w * LANES), query[w]));
                db = _mm512_add_epi64(
                    db, word_distance(_mm512_loadu_si512(x + (words + w) * LANES), query[w]));
            }
            uint32_t near = within(da, db, _mm512_set1_epi64(radii[q])) & valid;
            if (near) {
                report(near, da, db, first, q, hits);
            }
        }
    }
}

/* Returns -1 when there was no memory for the plan. */
AVX512 static int scan_avx512(const uint64_t *blocks, int64_t count, int words,
                              const uint64_t *queries, const int32_t *radii, int32_t k,
                              Hits *hits) {
    if (words != MAX_WORDS) {
        scan_avx512_narrow(blocks, count, words, queries, radii, k, hits);
        return 0;
    }
    Plan plan;
    if (make_plan(queries, radii, k, &plan) < 0) {
        return -1;
    }
    scan_avx512_pdq(blocks, count, &plan, hits);
    free(plan.queries);
    return 0;
}

static int have_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}
#else
static int have_avx512(void) { return 0; }
#endif

static int vectorised = 0;

/* Fills `view` with a contiguous buffer of `itemsize`-byte items; -1 with an error set. */
static int get_buffer(PyObject *object, Py_buffer *view, Py_ssize_t itemsize, int writable,
                      const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0) {
        return -1;
    }
    if (view->itemsize != itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zd-byte items, not %zd-byte", name,
                     itemsize, view->itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(scan_doc,
"scan(blocks, count, words, queries, radii, rows, query_numbers, distances, portable=False)\n"
"\n"
"Compare the first `count` rows of `blocks` (uint64, blocked, whole pairs of blocks) with each\n"
"of the queries (uint64, `words` a query) at its radius (int32). Writes each hit's row (int64),\n"
"query number and distance (int32) to the three output buffers, as many as they hold, and\n"
"returns how many hits there were: more than the buffers hold means call again with room.\n"
"`portable` uses the plain loop even where AVX-512 is there (the tests compare both).");

static PyObject *scan(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"blocks", "count", "words", "queries", "radii", "rows",
                               "query_numbers", "distances", "portable", NULL};
    PyObject *objects[6];
    Py_ssize_t count;
    int words, portable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OniOOOOO|p", keywords, &objects[0], &count,
                                     &words, &objects[1], &objects[2], &objects[3], &objects[4],
                                     &objects[5], &portable)) {
        return NULL;
    }
    if (words < 1 || words > MAX_WORDS) {
        return PyErr_Format(PyExc_ValueError, "a row is 1 to %d words, not %d", MAX_WORDS, words);
    }
    static const Py_ssize_t sizes[6] = {8, 8, 4, 8, 4, 4};
    static const int writable[6] = {0, 0, 0, 1, 1, 1};
    static const char *names[6] = {"blocks", "queries", "radii", "rows", "query_numbers",
                                   "distances"};
    Py_buffer views[6];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 6; got++) {
        if (get_buffer(objects[got], &views[got], sizes[got], writable[got], names[got]) < 0) {
            goto done;
        }
    }
    Py_ssize_t pairs = (count + PAIR - 1) / PAIR;
    Py_ssize_t k = views[2].len / 4;
    if (count < 0 || views[0].len / 8 < pairs * PAIR * words) {
        PyErr_SetString(PyExc_ValueError, "blocks must hold the rows in whole pairs of blocks");
        goto done;
    }
    if (views[1].len / 8 != k * words) {
        PyErr_SetString(PyExc_ValueError, "one radius a query, each query `words` words");
        goto done;
    }
    Py_ssize_t capacity = views[3].len / 8;
    if (views[4].len / 4 < capacity || views[5].len / 4 < capacity) {
        PyErr_SetString(PyExc_ValueError, "the output buffers must be the same length");
        goto done;
    }
    Hits hits = {views[3].buf, views[4].buf, views[5].buf, capacity, 0};
    const uint64_t *blocks = views[0].buf, *queries = views[1].buf;
    const int32_t *radii = views[2].buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_AVX512
    if (vectorised && !portable) {
        failed = scan_avx512(blocks, count, words, queries, radii, (int32_t)k, &hits);
    } else {
        scan_portable(blocks, count, words, queries, radii, (int32_t)k, &hits);
    }
#else
    scan_portable(blocks, count, words, queries, radii, (int32_t)k, &hits);
#endif
    Py_END_ALLOW_THREADS
    result = failed ? PyErr_NoMemory() : PyLong_FromLongLong(hits.found);
done:
    for (int i = 0; i < got; i++) {
        PyBuffer_Release(&views[i]);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_VARARGS | METH_KEYWORDS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "media._hamming",
    "A compiled Hamming-distance scan: every query of an image in one pass over the rows.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__hamming(void) {
    vectorised = have_avx512();
    PyObject *mod = PyModule_Create(&module);
    if (mod != NULL && PyModule_AddIntConstant(mod, "VECTORISED", vectorised) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    if (mod != NULL && (PyModule_AddIntConstant(mod, "LANES", LANES) < 0 ||
                        PyModule_AddIntConstant(mod, "PAIR", PAIR) < 0)) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
