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
 * A query whose radius is small (below HEAD_LIMIT for 256-bit hashes) is first checked on its
 * first 128 bits, which a random row differs from in 64 +- 6 bits: one pair of blocks in
 * dozens needs the rest of its words, so such a query costs about half a full one.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512 1
#endif

#define LANES 8
#define PAIR (2 * LANES)
#define MAX_WORDS 4
#define HEAD_WORDS 2
#define HEAD_LIMIT 48

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

static inline int uses_head(int words, int32_t radius) {
    return words == MAX_WORDS && radius < HEAD_LIMIT;
}

static void scan_portable(const uint64_t *blocks, int64_t count, int words, const uint64_t *queries,
                          const int32_t *radii, int32_t k, Hits *hits) {
    for (int64_t row = 0; row < count; row++) {
        const uint64_t *block = blocks + (row / LANES) * words * LANES + row % LANES;
        for (int32_t q = 0; q < k; q++) {
            const uint64_t *query = queries + (int64_t)q * words;
            int32_t distance = 0;
            for (int w = 0; w < words; w++) {
                distance += __builtin_popcountll(block[w * LANES] ^ query[w]);
                if (w + 1 == HEAD_WORDS && uses_head(words, radii[q]) && distance > radii[q]) {
                    break;
                }
            }
            if (distance <= radii[q]) {
                hit(hits, row, q, distance);
            }
        }
    }
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

/* 256-bit hashes (PDQ), two blocks (16 rows) at a time: their 8 words stay in registers while
 * the queries stream past; `valid` masks the rows past the end. */
AVX512 static void scan_avx512_pdq(const uint64_t *blocks, int64_t count, const uint64_t *queries,
                                   const int32_t *radii, int32_t k, Hits *hits) {
    for (int64_t first = 0; first < count; first += PAIR) {
        const uint64_t *x = blocks + first * MAX_WORDS;
        uint32_t valid = count - first >= PAIR ? 0xFFFFu : (1u << (count - first)) - 1u;
        __m512i a0 = _mm512_loadu_si512(x), a1 = _mm512_loadu_si512(x + 8);
        __m512i a2 = _mm512_loadu_si512(x + 16), a3 = _mm512_loadu_si512(x + 24);
        __m512i b0 = _mm512_loadu_si512(x + 32), b1 = _mm512_loadu_si512(x + 40);
        __m512i b2 = _mm512_loadu_si512(x + 48), b3 = _mm512_loadu_si512(x + 56);
        for (int32_t q = 0; q < k; q++) {
            const uint64_t *query = queries + 4 * (int64_t)q;
            const int32_t r = radii[q];
            const __m512i radius = _mm512_set1_epi64(r);
            __m512i da = _mm512_add_epi64(word_distance(a0, query[0]), word_distance(a1, query[1]));
            __m512i db = _mm512_add_epi64(word_distance(b0, query[0]), word_distance(b1, query[1]));
            if (r < HEAD_LIMIT && !(within(da, db, radius) & valid)) {
                continue;
            }
            da = _mm512_add_epi64(da, _mm512_add_epi64(word_distance(a2, query[2]),
                                                       word_distance(a3, query[3])));
            db = _mm512_add_epi64(db, _mm512_add_epi64(word_distance(b2, query[2]),
                                                       word_distance(b3, query[3])));
            uint32_t near = within(da, db, radius) & valid;
            if (near) {
                report(near, da, db, first, q, hits);
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

AVX512 static void scan_avx512(const uint64_t *blocks, int64_t count, int words,
                               const uint64_t *queries, const int32_t *radii, int32_t k,
                               Hits *hits) {
    if (words == MAX_WORDS) {
        scan_avx512_pdq(blocks, count, queries, radii, k, hits);
    } else {
        scan_avx512_narrow(blocks, count, words, queries, radii, k, hits);
    }
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
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_AVX512
    if (vectorised && !portable) {
        scan_avx512(blocks, count, words, queries, radii, (int32_t)k, &hits);
    } else {
        scan_portable(blocks, count, words, queries, radii, (int32_t)k, &hits);
    }
#else
    scan_portable(blocks, count, words, queries, radii, (int32_t)k, &hits);
#endif
    Py_END_ALLOW_THREADS
    result = PyLong_FromLongLong(hits.found);
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
                        PyModule_AddIntConstant(mod, "PAIR", PAIR) < 0 ||
                        PyModule_AddIntConstant(mod, "HEAD_LIMIT", HEAD_LIMIT) < 0)) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
