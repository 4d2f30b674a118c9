/* A large PNG's rows unfiltered, and for RGB reduced as they come, as Pillow would have them.
 *
 * Why our own: a tall chat screenshot (1789 x 3103 RGB, 4.5 MB) took Pillow 111 ms to decode
 * on a 2-core server, of which the inflate (zlib-ng) is about 22 ms: the rest is its byte-at-a-
 * time unfiltering (three rows in four use the Paeth filter), the copy of every pixel into
 * four-byte pixels, and then a reduction of all of them for the thumbnail. Here the inflated
 * rows (`media.png` inflates them, with the vetting around it) are unfiltered a pixel at a time
 * into two row buffers, and an RGB picture's rows are added into the box sums of Pillow's
 * `Image.reduce` as they are made, so the full-size picture never exists.
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
 * a + b - c, ties going to a, then b. Two selections, which compile to conditional moves (the
 * comparisons depend on the pixels: branches on them would be mispredicted half the time). */
static inline int paeth(int a, int b, int c) {
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    if (pb < pa) {
        pa = pb;
        a = b;
    }
    return pc < pa ? c : a;
}

/* One channel's Paeth step, without a branch: the comparisons depend on the pixels, and a
 * branch on them would be mispredicted on every noisy row. `m_` is all ones where b is nearer
 * than a, `m2_` where c is nearer than both. */
#define ABSOLUTE(v) (((v) ^ ((v) >> 31)) - ((v) >> 31))
#define PAETH_STEP(a, b, c, x)                                                                  \
    do {                                                                                       \
        int p_ = (b) - (c), t_ = (a) - (c), u_ = p_ + t_;                                      \
        int pa_ = ABSOLUTE(p_), pb_ = ABSOLUTE(t_), pc_ = ABSOLUTE(u_);                        \
        int m_ = (pb_ - pa_) >> 31;                                                            \
        int near_ = pa_ + ((pb_ - pa_) & m_);                                                  \
        int best_ = (a) ^ (((a) ^ (b)) & m_);                                                  \
        int m2_ = (pc_ - near_) >> 31;                                                         \
        (a) = ((x) + (best_ ^ ((best_ ^ (c)) & m2_))) & 255;                                   \
    } while (0)

/* A Paeth row of 3- or 4-byte pixels. Each pixel waits for the one on its left, so a row is
 * one chain of dependent steps per channel: the channels' chains are kept side by side, and
 * each channel's last value stays in a register (read back from memory, every step would
 * also wait for its own store). */
static void paeth_row3(const uint8_t *restrict in, const uint8_t *restrict above,
                       uint8_t *restrict out, Py_ssize_t bytes) {
    int a0 = 0, a1 = 0, a2 = 0, c0 = 0, c1 = 0, c2 = 0;
    for (Py_ssize_t i = 0; i + 3 <= bytes; i += 3) {
        int b0 = above[i], b1 = above[i + 1], b2 = above[i + 2];
        PAETH_STEP(a0, b0, c0, in[i]);
        PAETH_STEP(a1, b1, c1, in[i + 1]);
        PAETH_STEP(a2, b2, c2, in[i + 2]);
        out[i] = (uint8_t)a0;
        out[i + 1] = (uint8_t)a1;
        out[i + 2] = (uint8_t)a2;
        c0 = b0, c1 = b1, c2 = b2;
    }
}

static void paeth_row4(const uint8_t *restrict in, const uint8_t *restrict above,
                       uint8_t *restrict out, Py_ssize_t bytes) {
    int a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (Py_ssize_t i = 0; i + 4 <= bytes; i += 4) {
        int b0 = above[i], b1 = above[i + 1], b2 = above[i + 2], b3 = above[i + 3];
        PAETH_STEP(a0, b0, c0, in[i]);
        PAETH_STEP(a1, b1, c1, in[i + 1]);
        PAETH_STEP(a2, b2, c2, in[i + 2]);
        PAETH_STEP(a3, b3, c3, in[i + 3]);
        out[i] = (uint8_t)a0;
        out[i + 1] = (uint8_t)a1;
        out[i + 2] = (uint8_t)a2;
        out[i + 3] = (uint8_t)a3;
        c0 = b0, c1 = b1, c2 = b2, c3 = b3;
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
        if (bpp == 3) {
            paeth_row3(in, above, out, bytes);
            return 1;
        }
        if (bpp == 4) {
            paeth_row4(in, above, out, bytes);
            return 1;
        }
        for (i = 0; i < bpp && i < bytes; i++) out[i] = (uint8_t)(in[i] + above[i]);
        for (; i < bytes; i++)
            out[i] = (uint8_t)(in[i] + paeth(out[i - bpp], above[i], above[i - bpp]));
        return 1;
    default:
        return 0;
    }
}

/* The arguments every function takes, checked against the inflated bytes. */
typedef struct {
    Py_buffer raw;
    Py_ssize_t width, height, channels, row_bytes;
} Rows;

static int parse_rows(Rows *rows, PyObject *args, const char *format, void *more,
                      void *more2) {
    int ok = more2 ? PyArg_ParseTuple(args, format, &rows->raw, &rows->width, &rows->height,
                                      &rows->channels, more, more2)
                   : PyArg_ParseTuple(args, format, &rows->raw, &rows->width, &rows->height,
                                      &rows->channels, more);
    if (!ok) return 0;
    if (rows->width < 1 || rows->height < 1 || rows->channels < 1 ||
        rows->channels > MAX_CHANNELS || rows->width > PY_SSIZE_T_MAX / MAX_CHANNELS - 1 ||
        (rows->width * rows->channels + 1) > PY_SSIZE_T_MAX / rows->height) {
        PyErr_SetString(PyExc_ValueError, "bad picture size");
        PyBuffer_Release(&rows->raw);
        return 0;
    }
    rows->row_bytes = rows->width * rows->channels;
    if (rows->raw.len < (rows->row_bytes + 1) * rows->height) {
        PyErr_SetString(PyExc_ValueError, "fewer bytes than the picture's rows");
        PyBuffer_Release(&rows->raw);
        return 0;
    }
    return 1;
}

static PyObject *bad_filter(Py_ssize_t y) {
    PyErr_Format(PyExc_ValueError, "row %zd has an unknown filter", y);
    return NULL;
}

/* Copy an unfiltered row into the picture, 3-byte pixels widened to Pillow's 4 when `padded`
 * (its RGBX, which it can take without a copy). */
static void place_row(const uint8_t *restrict row, uint8_t *restrict out, Py_ssize_t width,
                      int channels, int padded) {
    if (!padded) {
        memcpy(out, row, (size_t)(width * channels));
        return;
    }
    for (Py_ssize_t x = 0; x < width; x++, row += 3, out += 4) {
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
    if (!parse_rows(&rows, args, "y*nnnp", &padded, NULL)) return NULL;
    if (padded && rows.channels != 3) {
        PyBuffer_Release(&rows.raw);
        PyErr_SetString(PyExc_ValueError, "only 3-byte pixels are padded");
        return NULL;
    }
    Py_ssize_t bytes = rows.row_bytes, out_bytes = padded ? rows.width * 4 : bytes;
    PyObject *result = PyBytes_FromStringAndSize(NULL, out_bytes * rows.height);
    uint8_t *scratch = calloc((size_t)(3 * bytes), 1); /* zeros, then two rows in turn */
    if (result == NULL || scratch == NULL) {
        Py_XDECREF(result);
        free(scratch);
        PyBuffer_Release(&rows.raw);
        return PyErr_NoMemory();
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *raw = rows.raw.buf, *above = scratch;
    int ok = 1;
    Py_ssize_t y;
    Py_BEGIN_ALLOW_THREADS;
    for (y = 0; y < rows.height && ok; y++) {
        uint8_t *row = scratch + bytes * (1 + (y & 1));
        ok = unfilter_row(raw + y * (bytes + 1), above, row, bytes, (int)rows.channels);
        place_row(row, out + y * out_bytes, rows.width, (int)rows.channels, padded);
        above = row;
    }
    Py_END_ALLOW_THREADS;
    free(scratch);
    PyBuffer_Release(&rows.raw);
    if (!ok) {
        Py_DECREF(result);
        return bad_filter(y - 1);
    }
    return result;
}

/* The boxes of one output row: each column's sum over the rows added so far, and the boxes'
 * sizes. Adding a row is one addition a byte (the compiler vectorises it); the columns are
 * summed across each box only once per output row. */
typedef struct {
    Py_ssize_t row_bytes, out_width, full_columns;
    int fx, fy, channels;
    uint32_t *columns; /* row_bytes sums */
} Boxes;

static void add_row(Boxes *b, const uint8_t *restrict row) {
    uint32_t *restrict columns = b->columns;
    for (Py_ssize_t i = 0; i < b->row_bytes; i++) columns[i] += row[i];
}

/* Divide the sums of an output row whose boxes are `rows_in` rows tall into `out`. */
static void emit_row(Boxes *b, int rows_in, Py_ssize_t width, uint8_t *out) {
    int ch = b->channels, fx = b->fx;
    int full = rows_in == b->fy;
    Divider whole = divider(fx * rows_in, full ? full_box_shift(fx, b->fy) : -1);
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

/* reduced(raw, width, height, channels, fx, fy) -> Image.reduce((fx, fy))'s bytes. */
static PyObject *reduced(PyObject *self, PyObject *args) {
    Rows rows;
    Py_ssize_t fx, fy;
    if (!parse_rows(&rows, args, "y*nnnnn", &fx, &fy)) return NULL;
    if (fx < 1 || fy < 1 || fx > rows.width || fy > rows.height || fx * fy > 65536) {
        PyBuffer_Release(&rows.raw);
        PyErr_SetString(PyExc_ValueError, "bad reduction");
        return NULL;
    }
    Py_ssize_t bytes = rows.row_bytes, width = rows.width, height = rows.height;
    Boxes b = {bytes, (width + fx - 1) / fx, width / fx, (int)fx, (int)fy, (int)rows.channels,
               NULL};
    Py_ssize_t out_height = (height + fy - 1) / fy, out_bytes = b.out_width * rows.channels;
    PyObject *result = PyBytes_FromStringAndSize(NULL, out_bytes * out_height);
    uint8_t *scratch = calloc((size_t)(3 * bytes), 1); /* zeros, then two rows in turn */
    b.columns = calloc((size_t)bytes, sizeof(uint32_t));
    if (result == NULL || scratch == NULL || b.columns == NULL) {
        Py_XDECREF(result);
        free(scratch);
        free(b.columns);
        PyBuffer_Release(&rows.raw);
        return PyErr_NoMemory();
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    const uint8_t *raw = rows.raw.buf, *above = scratch;
    int ok = 1, in_box = 0;
    Py_ssize_t y;
    Py_BEGIN_ALLOW_THREADS;
    for (y = 0; y < height && ok; y++) {
        uint8_t *row = scratch + bytes * (1 + (y & 1));
        ok = unfilter_row(raw + y * (bytes + 1), above, row, bytes, (int)rows.channels);
        add_row(&b, row);
        above = row;
        if (++in_box == fy || y == height - 1) {
            emit_row(&b, in_box, width, out + (y / fy) * out_bytes);
            in_box = 0;
        }
    }
    Py_END_ALLOW_THREADS;
    free(scratch);
    free(b.columns);
    PyBuffer_Release(&rows.raw);
    if (!ok) {
        Py_DECREF(result);
        return bad_filter(y - 1);
    }
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

PyMODINIT_FUNC PyInit__png(void) { return PyModule_Create(&module); }
