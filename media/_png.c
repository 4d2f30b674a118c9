/* A large PNG's rows unfiltered, and for RGB reduced as they come, as Pillow would have them.
 *
 * Why our own: a tall chat screenshot (1789 x 3103 RGB, 4.5 MB) took Pillow 111 ms to decode
 * on a 2-core server, of which the inflate (zlib-ng) is about 22 ms: the rest is its byte-at-a-
 * time unfiltering (three rows in four use the Paeth filter), the copy of every pixel into
 * four-byte pixels, and then a reduction of all of them for the thumbnail. Here the inflated
 * rows (`media.png` inflates them, with the vetting around it) are unfiltered a pixel at a time
 * (four Paeth rows side by side where the processor has AVX2) into a few row buffers, and an
 * RGB or grey picture's rows are added into the box sums of Pillow's `Image.reduce` as they are
 * made, so the full-size picture never exists.
 *
 * The same numbers as Pillow: unfiltering is exact by definition (PNG's five filters), and the
 * reduction divides each box's sum as Pillow 13's libImaging/Reduce.c does (an exact shift for
 * the 1x2, 2x1, 2x2 and 4x4 boxes it has its own loops for, its 24-bit fixed-point multiplier
 * for every other box and for the partial boxes along the right and bottom edges);
 * tests/media/test_png.py compares the pictures with Pillow's, filter by filter.
 *
 * Nothing here trusts its input: the caller gives the inflated bytes, and the sizes are
 * checked against them before a row is read; a filter byte past 4 fails the call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANNELS 4

/* Pillow's division_UINT32(divider, 8): a float division, truncated, as its code has it. */
static uint32_t pillow_multiplier(int area) {
    uint32_t max_dividend = (uint32_t)(1 << 8) * (uint32_t)area;
    float max_int = (1 << 30) * 4.0;
    return (uint32_t)(max_int / max_dividend);
}

/* One box's value from its sum, as Pillow divides it. `shift` is >= 0 for the boxes Pillow
 * reduces with a shift, -1 for those it multiplies. */
typedef struct {
    int shift;
    uint32_t amend;
    uint32_t multiplier;
} Divider;

static Divider divider(int area, int shift) {
    Divider d = {shift, (uint32_t)(area / 2), pillow_multiplier(area)};
    return d;
}

static inline uint8_t divide(const Divider *d, uint32_t sum) {
    uint32_t with = sum + d->amend;
    if (d->shift >= 0) return (uint8_t)(with >> d->shift);
    return (uint8_t)((uint32_t)(with * d->multiplier) >> 24);
}

/* The shift Pillow's own loops use for a full fx x fy box, or -1 (libImaging/Reduce.c's
 * ImagingReduce: 1x2, 2x1, 2x2 and 4x4 shift; 1x3, 3x1, 3x3, 5x5 and the general loops
 * multiply). */
static int full_box_shift(int fx, int fy) {
    if (fx == 1 && fy == 2) return 1;
    if (fx == 2 && fy == 1) return 1;
    if (fx == 2 && fy == 2) return 2;
    if (fx == 4 && fy == 4) return 4;
    return -1;
}

/* The Paeth predictor, one byte: of a (left), b (above) and c (above left), the nearest to
 * a + b - c, ties going to a, then b. Without a branch: the comparisons depend on the pixels,
 * and a branch on them would be mispredicted on every noisy row. `b_nearer` is all ones where
 * b is nearer than a, `c_nearer` where c is nearer than both. */
static inline int paeth(int a, int b, int c) {
#define ABSOLUTE(v) (((v) ^ ((v) >> 31)) - ((v) >> 31))
    int p = b - c, t = a - c, u = p + t;
    int pa = ABSOLUTE(p), pb = ABSOLUTE(t), pc = ABSOLUTE(u);
#undef ABSOLUTE
    int b_nearer = (pb - pa) >> 31;
    int nearest = pa + ((pb - pa) & b_nearer);
    int best = a ^ ((a ^ b) & b_nearer);
    int c_nearer = (pc - nearest) >> 31;
    return best ^ ((best ^ c) & c_nearer);
}

/* A Paeth row. Each pixel waits for the one on its left, so a row is one chain of dependent
 * steps per channel: the channels' chains are kept side by side, and each channel's last value
 * stays in a register (read back from memory, every step would also wait for its own store).
 * `bpp` is a constant in each call (`paeth_row`), so the channel loop unrolls. */
static inline __attribute__((always_inline)) void paeth_row_bpp(const uint8_t *restrict in,
                                                                const uint8_t *restrict above,
                                                                uint8_t *restrict out,
                                                                Py_ssize_t bytes, const int bpp) {
    int left[MAX_CHANNELS] = {0, 0, 0, 0}, corner[MAX_CHANNELS] = {0, 0, 0, 0};
    for (Py_ssize_t i = 0; i + bpp <= bytes; i += bpp) {
        for (int k = 0; k < bpp; k++) {
            int up = above[i + k];
            left[k] = (in[i + k] + paeth(left[k], up, corner[k])) & 255;
            out[i + k] = (uint8_t)left[k];
            corner[k] = up;
        }
    }
}

static void paeth_row(const uint8_t *in, const uint8_t *above, uint8_t *out, Py_ssize_t bytes,
                      int bpp) {
    switch (bpp) {
    case 1:
        paeth_row_bpp(in, above, out, bytes, 1);
        break;
    case 2:
        paeth_row_bpp(in, above, out, bytes, 2);
        break;
    case 3:
        paeth_row_bpp(in, above, out, bytes, 3);
        break;
    default:
        paeth_row_bpp(in, above, out, bytes, 4);
    }
}

/* Row `row` (its filter byte first) unfiltered into `out`, the row above being `above`
 * (zeros for the first). False for a filter PNG does not define. */
static int unfilter_row(const uint8_t *row, const uint8_t *above, uint8_t *out, Py_ssize_t bytes,
                        int bpp) {
    const uint8_t *in = row + 1;
    Py_ssize_t i;
    switch (row[0]) {
    case 0:
        memcpy(out, in, (size_t)bytes);
        return 1;
    case 1:
        for (i = 0; i < bpp && i < bytes; i++) out[i] = in[i];
        for (; i < bytes; i++) out[i] = (uint8_t)(in[i] + out[i - bpp]);
        return 1;
    case 2:
        for (i = 0; i < bytes; i++) out[i] = (uint8_t)(in[i] + above[i]);
        return 1;
    case 3:
        for (i = 0; i < bpp && i < bytes; i++) out[i] = (uint8_t)(in[i] + (above[i] >> 1));
        for (; i < bytes; i++) out[i] = (uint8_t)(in[i] + ((out[i - bpp] + above[i]) >> 1));
        return 1;
    case 4:
        paeth_row(in, above, out, bytes, bpp);
        return 1;
    default:
        return 0;
    }
}

/* Four Paeth rows at once, on x86 with AVX2 (checked when the module loads). Row j of the
 * group works on pixel k - j while row 0 works on pixel k: each row's pixel above was made by
 * the row before one step earlier, and the four chains run side by side in one 256-bit
 * register, 16-bit lanes, four to a row. A row alone is one chain of dependent steps; four of
 * them cost about what one did (rows of Paeth: a sixth of the time; a tall chat screenshot's
 * whole unfiltering, under half). The first and last few pixels of each row, where the rows
 * are not all at work, are done one at a time. */
#define GROUP 4
#define MIN_GROUP_WIDTH 8

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GROUPED_PAETH 1
static int have_avx2;

/* One pixel of a row, as `unfilter_row`'s Paeth makes it (the left and above-left of the
 * first pixel are zeros). */
static void paeth_pixel(const uint8_t *in, const uint8_t *above, uint8_t *out, Py_ssize_t x,
                        int bpp) {
    for (int k = 0; k < bpp; k++) {
        Py_ssize_t i = x * bpp + k;
        int left = x ? out[i - bpp] : 0, corner = x ? above[i - bpp] : 0;
        out[i] = (uint8_t)(in[i] + paeth(left, above[i], corner));
    }
}

__attribute__((target("avx2"))) static inline __m256i pick(__m256i mask, __m256i yes,
                                                           __m256i no) {
    return _mm256_blendv_epi8(no, yes, mask);
}

/* Four bytes from `p`: a pixel's 3 or 4, read as one word (the caller keeps them in the row). */
static inline __attribute__((always_inline)) uint32_t pixel_word(const uint8_t *p) {
    uint32_t word;
    memcpy(&word, p, 4);
    return word;
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline)) void
paeth_group_bpp(const uint8_t *in[GROUP], const uint8_t *above, uint8_t *out[GROUP],
                Py_ssize_t width, const int bpp) {
    Py_ssize_t k;
    /* The wave's start: row j's pixels before GROUP - 1 - j, in the order the wave makes them. */
    for (k = 0; k < GROUP - 1; k++)
        for (int j = 0; j <= k; j++) paeth_pixel(in[j], j ? out[j - 1] : above, out[j], k - j, bpp);
    /* The lanes at step k = GROUP - 1: each row's left and above-left values. */
    uint16_t left[16] = {0}, corner[16] = {0};
    for (int j = 0; j < GROUP; j++) {
        Py_ssize_t x = GROUP - 1 - j; /* this row's pixel at the first full step */
        const uint8_t *up = j ? out[j - 1] : above;
        for (int ch = 0; ch < bpp && x > 0; ch++) {
            left[j * 4 + ch] = out[j][(x - 1) * bpp + ch];
            corner[j * 4 + ch] = up[(x - 1) * bpp + ch];
        }
    }
    __m256i a = _mm256_loadu_si256((const __m256i *)left);
    __m256i c = _mm256_loadu_si256((const __m256i *)corner);
    const __m256i low_byte = _mm256_set1_epi16(255);
    /* While every row's pixel has another after it (so 4-byte reads stay in the row). */
    for (k = GROUP - 1; k < width - 1; k++) {
        __m128i words = _mm_setr_epi32((int)pixel_word(in[0] + k * bpp),
                                       (int)pixel_word(in[1] + (k - 1) * bpp),
                                       (int)pixel_word(in[2] + (k - 2) * bpp),
                                       (int)pixel_word(in[3] + (k - 3) * bpp));
        __m256i x = _mm256_cvtepu8_epi16(words);
        /* Above: row 0's from the row above the group, the others' the last step's results of
         * the row before them (the lanes moved up one row). */
        __m256i first = _mm256_cvtepu8_epi16(_mm_cvtsi32_si128((int)pixel_word(above + k * bpp)));
        __m256i b = _mm256_blend_epi32(_mm256_permute4x64_epi64(a, 0x90), first, 0x03);
        __m256i p = _mm256_sub_epi16(b, c), t = _mm256_sub_epi16(a, c);
        __m256i pa = _mm256_abs_epi16(p), pb = _mm256_abs_epi16(t);
        __m256i pc = _mm256_abs_epi16(_mm256_add_epi16(p, t));
        __m256i b_nearer = _mm256_cmpgt_epi16(pa, pb);
        __m256i best = pick(b_nearer, b, a);
        best = pick(_mm256_cmpgt_epi16(_mm256_min_epi16(pa, pb), pc), c, best);
        a = _mm256_and_si256(_mm256_add_epi16(best, x), low_byte);
        c = b;
        __m256i packed = _mm256_packus_epi16(a, a); /* rows 0 and 1, then 2 and 3, per half */
        uint64_t rows01 = (uint64_t)_mm256_extract_epi64(packed, 0);
        uint64_t rows23 = (uint64_t)_mm256_extract_epi64(packed, 2);
        uint32_t made[GROUP] = {(uint32_t)rows01, (uint32_t)(rows01 >> 32), (uint32_t)rows23,
                                (uint32_t)(rows23 >> 32)};
        for (int j = 0; j < GROUP; j++) memcpy(out[j] + (k - j) * bpp, &made[j], (size_t)bpp);
    }
    /* The wave's end: each row's last pixels. */
    for (; k < width + GROUP - 1; k++)
        for (int j = 0; j < GROUP; j++)
            if (k - j >= 0 && k - j < width)
                paeth_pixel(in[j], j ? out[j - 1] : above, out[j], k - j, bpp);
}

__attribute__((target("avx2"))) static void paeth_group(const uint8_t *in[GROUP],
                                                        const uint8_t *above,
                                                        uint8_t *out[GROUP], Py_ssize_t width,
                                                        int bpp) {
    if (bpp == 3)
        paeth_group_bpp(in, above, out, width, 3);
    else
        paeth_group_bpp(in, above, out, width, 4);
}
#endif

/* The arguments every function takes, checked against the inflated bytes. */
typedef struct {
    Py_buffer raw;
    Py_ssize_t width, height, channels, row_bytes;
} Rows;

/* The sizes checked against the inflated bytes; on failure the buffer is released and a
 * ValueError set. */
static int check_rows(Rows *rows) {
    const char *problem = NULL;
    if (rows->width < 1 || rows->height < 1 || rows->channels < 1 ||
        rows->channels > MAX_CHANNELS || rows->width > PY_SSIZE_T_MAX / MAX_CHANNELS - 1 ||
        (rows->width * rows->channels + 1) > PY_SSIZE_T_MAX / rows->height)
        problem = "bad picture size";
    else if (rows->raw.len < (rows->width * rows->channels + 1) * rows->height)
        problem = "fewer bytes than the picture's rows";
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        PyBuffer_Release(&rows->raw);
        return 0;
    }
    rows->row_bytes = rows->width * rows->channels;
    return 1;
}

/* Row buffers: zeros (the row above the first), then a ring of GROUP + 1, so a group of rows
 * and the row above it never share one. */
#define RING (GROUP + 1)

static uint8_t *new_scratch(const Rows *rows) {
    return calloc((size_t)((1 + RING) * rows->row_bytes), 1);
}

static inline uint8_t *ring_row(uint8_t *scratch, Py_ssize_t bytes, Py_ssize_t y) {
    return scratch + bytes * (1 + y % RING);
}

/* What is done with each unfiltered row, in order. */
typedef void (*RowSink)(void *sink, Py_ssize_t y, const uint8_t *row);

#ifdef GROUPED_PAETH
static int starts_paeth_group(const Rows *rows, Py_ssize_t y) {
    if (!have_avx2 || (rows->channels != 3 && rows->channels != 4) ||
        rows->width < MIN_GROUP_WIDTH || y + GROUP > rows->height)
        return 0;
    const uint8_t *raw = rows->raw.buf;
    for (int j = 0; j < GROUP; j++)
        if (raw[(y + j) * (rows->row_bytes + 1)] != 4) return 0;
    return 1;
}
#endif

/* Every row unfiltered, in order, and given to `sink`; -1, or the first row whose filter PNG
 * does not define (no row from it on is given). */
static Py_ssize_t walk_rows(const Rows *rows, uint8_t *scratch, RowSink sink, void *ctx) {
    Py_ssize_t bytes = rows->row_bytes, stride = bytes + 1, y = 0;
    const uint8_t *raw = rows->raw.buf, *above = scratch;
    while (y < rows->height) {
#ifdef GROUPED_PAETH
        if (starts_paeth_group(rows, y)) {
            const uint8_t *in[GROUP];
            uint8_t *out[GROUP];
            for (int j = 0; j < GROUP; j++) {
                in[j] = raw + (y + j) * stride + 1;
                out[j] = ring_row(scratch, bytes, y + j);
            }
            paeth_group(in, above, out, rows->width, (int)rows->channels);
            for (int j = 0; j < GROUP; j++) sink(ctx, y + j, out[j]);
            above = out[GROUP - 1];
            y += GROUP;
            continue;
        }
#endif
        uint8_t *row = ring_row(scratch, bytes, y);
        if (!unfilter_row(raw + y * stride, above, row, bytes, (int)rows->channels)) return y;
        sink(ctx, y, row);
        above = row;
        y++;
    }
    return -1;
}

/* Every row through `sink` into `result` (NULL: it could not be made), the lock released while
 * they run; the rows' buffer is released. `result`, or NULL with the error set. */
static PyObject *walk_into(Rows *rows, PyObject *result, RowSink sink, void *ctx) {
    uint8_t *scratch = result != NULL ? new_scratch(rows) : NULL;
    Py_ssize_t bad = -1;
    if (scratch != NULL) {
        Py_BEGIN_ALLOW_THREADS;
        bad = walk_rows(rows, scratch, sink, ctx);
        Py_END_ALLOW_THREADS;
        free(scratch);
    }
    PyBuffer_Release(&rows->raw);
    if (scratch == NULL) {
        Py_XDECREF(result);
        return PyErr_NoMemory();
    }
    if (bad >= 0) {
        Py_DECREF(result);
        PyErr_Format(PyExc_ValueError, "row %zd has an unknown filter", bad);
        return NULL;
    }
    return result;
}

/* The picture row after row, 3-byte pixels widened to Pillow's 4 when `padded` (its RGBX,
 * which it can take without a copy). */
typedef struct {
    uint8_t *out;
    Py_ssize_t width, out_bytes;
    int padded;
} Picture;

static void place_row(void *ctx, Py_ssize_t y, const uint8_t *restrict row) {
    Picture *picture = ctx;
    uint8_t *restrict out = picture->out + y * picture->out_bytes;
    if (!picture->padded) {
        memcpy(out, row, (size_t)picture->out_bytes);
        return;
    }
    for (Py_ssize_t x = 0; x < picture->width; x++, row += 3, out += 4) {
        out[0] = row[0];
        out[1] = row[1];
        out[2] = row[2];
        out[3] = 255;
    }
}

/* unfilter(raw, width, height, channels, padded) -> the picture's bytes, row after row. */
static PyObject *unfilter(PyObject *self, PyObject *args) {
    Rows rows;
    int padded;
    if (!PyArg_ParseTuple(args, "y*nnnp", &rows.raw, &rows.width, &rows.height, &rows.channels,
                          &padded) ||
        !check_rows(&rows))
        return NULL;
    if (padded && rows.channels != 3) {
        PyBuffer_Release(&rows.raw);
        PyErr_SetString(PyExc_ValueError, "only 3-byte pixels are padded");
        return NULL;
    }
    Picture picture = {NULL, rows.width, padded ? rows.width * 4 : rows.row_bytes, padded};
    PyObject *result = PyBytes_FromStringAndSize(NULL, picture.out_bytes * rows.height);
    if (result != NULL) picture.out = (uint8_t *)PyBytes_AS_STRING(result);
    return walk_into(&rows, result, place_row, &picture);
}

/* The boxes of one output row: each column's sum over the rows added so far, and the boxes'
 * sizes. Adding a row is one addition a byte (the compiler vectorises it); the columns are
 * summed across each box only once per output row. */
typedef struct {
    Py_ssize_t row_bytes, width, height, out_width, full_columns, out_bytes;
    int fx, fy, channels, rows_in;
    uint32_t *columns; /* row_bytes sums */
    uint8_t *out;
} Boxes;

/* Divide the sums of an output row whose boxes are `rows_in` rows tall into `out`. */
static void emit_row(Boxes *b, uint8_t *out) {
    int ch = b->channels, fx = b->fx, rows_in = b->rows_in;
    Py_ssize_t width = b->width;
    Divider whole = divider(fx * rows_in, rows_in == b->fy ? full_box_shift(fx, b->fy) : -1);
    int edge_area = (int)(width - b->full_columns * fx) * rows_in; /* 0: no partial box */
    Divider edge = divider(edge_area ? edge_area : 1, -1);
    for (Py_ssize_t ox = 0; ox < b->out_width; ox++) {
        const Divider *d = ox < b->full_columns ? &whole : &edge;
        Py_ssize_t from = ox * fx, to = from + fx < width ? from + fx : width;
        for (int c = 0; c < ch; c++) {
            uint32_t sum = 0;
            for (Py_ssize_t x = from; x < to; x++) sum += b->columns[x * ch + c];
            out[ox * ch + c] = divide(d, sum);
        }
    }
    memset(b->columns, 0, sizeof(uint32_t) * (size_t)b->row_bytes);
}

/* Add one unfiltered row into the box sums; a finished row of boxes is divided out. */
static void add_row(void *ctx, Py_ssize_t y, const uint8_t *restrict row) {
    Boxes *b = ctx;
    uint32_t *restrict columns = b->columns;
    for (Py_ssize_t i = 0; i < b->row_bytes; i++) columns[i] += row[i];
    if (++b->rows_in == b->fy || y == b->height - 1) {
        emit_row(b, b->out + (y / b->fy) * b->out_bytes);
        b->rows_in = 0;
    }
}

/* reduced(raw, width, height, channels, fx, fy) -> Image.reduce((fx, fy))'s bytes. */
static PyObject *reduced(PyObject *self, PyObject *args) {
    Rows rows;
    Py_ssize_t fx, fy;
    if (!PyArg_ParseTuple(args, "y*nnnnn", &rows.raw, &rows.width, &rows.height, &rows.channels,
                          &fx, &fy) ||
        !check_rows(&rows))
        return NULL;
    if (fx < 1 || fy < 1 || fx > rows.width || fy > rows.height || fx * fy > 65536) {
        PyBuffer_Release(&rows.raw);
        PyErr_SetString(PyExc_ValueError, "bad reduction");
        return NULL;
    }
    Py_ssize_t width = rows.width, height = rows.height, out_width = (width + fx - 1) / fx;
    Boxes b = {rows.row_bytes, width, height, out_width, width / fx, out_width * rows.channels,
               (int)fx, (int)fy, (int)rows.channels, 0, NULL, NULL};
    PyObject *result = PyBytes_FromStringAndSize(NULL, b.out_bytes * ((height + fy - 1) / fy));
    b.columns = calloc((size_t)rows.row_bytes, sizeof(uint32_t));
    if (b.columns == NULL) Py_CLEAR(result); /* walk_into reports the missing memory */
    if (result != NULL) b.out = (uint8_t *)PyBytes_AS_STRING(result);
    result = walk_into(&rows, result, add_row, &b);
    free(b.columns);
    return result;
}

static PyMethodDef methods[] = {
    {"unfilter", unfilter, METH_VARARGS,
     "unfilter(raw, width, height, channels, padded) -> bytes\n\n"
     "A non-interlaced 8-bit PNG's inflated rows (each with its filter byte) unfiltered;\n"
     "with `padded`, 3-byte pixels as 4 (the last 255: Pillow's RGBX)."},
    {"reduced", reduced, METH_VARARGS,
     "reduced(raw, width, height, channels, fx, fy) -> bytes\n\n"
     "The same rows unfiltered and reduced as Pillow's Image.reduce((fx, fy)) reduces them:\n"
     "ceil(width / fx) x ceil(height / fy) pixels."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_png", NULL, -1, methods};

PyMODINIT_FUNC PyInit__png(void) {
#ifdef GROUPED_PAETH
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2");
#endif
    return PyModule_Create(&module);
}
