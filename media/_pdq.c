/* PDQ, the 256-bit perceptual hash, computed bit for bit as the pdqhash package computes it
 * (Meta's reference algorithm, ThreatExchange's pdq/cpp, behind that package's numpy luma),
 * in a third of the time.
 *
 * Why our own: a plain photo's upload is hashed with PDQ nine times (the decoded picture and
 * its trimmed block with every turn, the views, the quarters), and pdqhash spent 1.3 ms on a
 * 480 x 270 picture: a third in numpy's double-precision luma (three temporaries), most of the
 * rest in a box filter whose running sum is one chain of dependent additions per row, and
 * whose column passes stride down memory a row apart. Here every pass of the filter runs down
 * the rows of a buffer, many running sums side by side (a vector instruction holds several,
 * and no sum waits for another), the data transposed between the passes along rows and those
 * along columns; the last passes keep only what the 64 x 64 decimation reads. Each sum still
 * adds and subtracts the same values in the same order, and each division is the same, so
 * the floats, and the bits, are the reference's (tests/media/test_pdq.py compares them on
 * pictures of every shape, including the 64 x 64 case the reference treats on its own).
 *
 * Build: -ffp-contract=off (pyproject.toml), so no compiler fuses a multiply and an add into
 * one rounding the reference does not make (gcc does by default on ARM).
 *
 * The algorithm, as the reference has it: luma Y = 0.299 R + 0.587 G + 0.114 B (in double
 * precision, stored as float: pdqhash's numpy expression); two passes of a Jarosz box filter
 * along the rows and then the columns, the window (dimension + 127) / 128, a shorter window at
 * each end; the 64 x 64 samples at the centres of a 64 x 64 grid; quality from their
 * gradients; a 16 x 16 DCT; a bit for each coefficient above their median (Torben's method).
 * The seven other rotations and flips come from the same DCT, by signs and a transpose.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 64
#define BAND 16
#define HASH_BYTES 32
#define TURNS 8
#define MIN_SIDE 5 /* the reference hashes nothing smaller: all bits clear, quality 0 */
#define PASSES 2

static float dct[BAND][SIDE];   /* the reference's matrix: row i is frequency i + 1 */
static float dct_t[SIDE][BAND]; /* its transpose, for the second product */

static void init_dct(void) {
    const float scale = (float)sqrt(2.0 / (double)SIDE);
    for (int i = 0; i < BAND; i++) {
        for (int j = 0; j < SIDE; j++) {
            double angle = (M_PI / 2.0 / (double)SIDE) * (double)(i + 1) * (double)(2 * j + 1);
            dct[i][j] = (float)((double)scale * cos(angle));
            dct_t[j][i] = dct[i][j];
        }
    }
}

/* Y of each pixel, row by row: pdqhash's numpy expression, in double precision. */
static void luma(const uint8_t *rgb, Py_ssize_t count, float *out) {
    for (Py_ssize_t k = 0; k < count; k++, rgb += 3) {
        double y = (double)rgb[0] * 0.299 + (double)rgb[1] * 0.587;
        y += (double)rgb[2] * 0.114;
        out[k] = (float)y;
    }
}

static inline void divide_into(float *out, const float *sum, Py_ssize_t length, int count) {
    const float by = (float)count;
    for (Py_ssize_t c = 0; c < length; c++) {
        out[c] = sum[c] / by;
    }
}

/* The box filter down the `rows` rows of `in` (each `length` values), every column its own
 * running sum: the reference's box1DFloat on each column, its four phases (a window growing
 * from half, the full window, a window shrinking to half) in its order of additions. Output
 * row r goes to `out + slot[r] * length` when `slot[r]` >= 0 and nowhere otherwise (`slot` NULL:
 * every row, in place). `sum` is scratch of `length` floats. */
static void box_down(const float *in, float *out, Py_ssize_t rows, Py_ssize_t length, int window,
                     const int *slot, float *sum) {
    const int half = (window + 2) / 2;
    int count = 0;
    Py_ssize_t read = 0, left = 0, written = 0;
    memset(sum, 0, (size_t)length * sizeof(float));
#define ADD(row)                                                                                   \
    do {                                                                                           \
        const float *src = in + (row) * length;                                                    \
        for (Py_ssize_t c = 0; c < length; c++) sum[c] += src[c];                                 \
    } while (0)
#define SUBTRACT(row)                                                                              \
    do {                                                                                           \
        const float *src = in + (row) * length;                                                    \
        for (Py_ssize_t c = 0; c < length; c++) sum[c] -= src[c];                                 \
    } while (0)
#define WRITE()                                                                                    \
    do {                                                                                           \
        Py_ssize_t to = slot == NULL ? written : slot[written];                                    \
        if (to >= 0) divide_into(out + to * length, sum, length, count);                           \
        written++;                                                                                 \
    } while (0)
    for (int k = 0; k < half - 1; k++, read++, count++) ADD(read);
    for (int k = 0; k < window - half + 1; k++, read++) {
        ADD(read);
        count++;
        WRITE();
    }
    for (Py_ssize_t k = 0; k < rows - window; k++, read++, left++) {
        ADD(read);
        SUBTRACT(left);
        WRITE();
    }
    for (int k = 0; k < half - 1; k++, left++) {
        SUBTRACT(left);
        count--;
        WRITE();
    }
#undef ADD
#undef SUBTRACT
#undef WRITE
}

/* `in` (rows x cols) transposed into `out` (cols x rows), in tiles that stay in the cache. */
static void transpose(const float *in, float *out, Py_ssize_t rows, Py_ssize_t cols) {
    const Py_ssize_t tile = 16; /* at 32, a 512-float stride's rows collide in the cache */
    for (Py_ssize_t i0 = 0; i0 < rows; i0 += tile) {
        Py_ssize_t i1 = i0 + tile < rows ? i0 + tile : rows;
        for (Py_ssize_t j0 = 0; j0 < cols; j0 += tile) {
            Py_ssize_t j1 = j0 + tile < cols ? j0 + tile : cols;
            for (Py_ssize_t i = i0; i < i1; i++) {
                for (Py_ssize_t j = j0; j < j1; j++) {
                    out[j * rows + i] = in[i * cols + j];
                }
            }
        }
    }
}

/* The reference's decimation: the sample nearest each cell's centre. */
static int sample_at(int cell, Py_ssize_t size) {
    return (int)(((cell + 0.5) * (double)size) / SIDE);
}

/* Which output row of the last pass each input row becomes (the first cell that samples it),
 * or -1: the decimation reads 64 rows, so the others are never divided out. A picture under
 * 64 pixels has rows that two cells sample: `copy_shared` fills the second from the first. */
static void sampled_slots(int *slot, Py_ssize_t size) {
    for (Py_ssize_t r = 0; r < size; r++) slot[r] = -1;
    for (int cell = SIDE - 1; cell >= 0; cell--) slot[sample_at(cell, size)] = cell;
}

static void copy_shared(float *out, const int *slot, Py_ssize_t size, Py_ssize_t length) {
    for (int cell = 0; cell < SIDE; cell++) {
        int first = slot[sample_at(cell, size)];
        if (first != cell) memcpy(out + cell * length, out + first * length, length * sizeof(float));
    }
}

typedef struct {
    float *a, *b, *sum;
    int *slot;
} Scratch;

/* The Jarosz filter and the decimation: `grid` gets the 64 x 64 samples. `a` holds the luma
 * transposed (width x height) and is overwritten; `b` and `sum` are scratch (see `pdq_hash`
 * for their sizes). */
static void downsample(Scratch *s, Py_ssize_t height, Py_ssize_t width, float grid[SIDE][SIDE]) {
    const int along_rows = (int)((width + 2 * SIDE - 1) / (2 * SIDE));
    const int along_cols = (int)((height + 2 * SIDE - 1) / (2 * SIDE));
    /* First pass along rows (down a's rows: one per picture column), then along columns. */
    box_down(s->a, s->b, width, height, along_rows, NULL, s->sum);
    transpose(s->b, s->a, width, height);
    box_down(s->a, s->b, height, width, along_cols, NULL, s->sum);
    /* Second pass along rows: only the 64 sampled columns are read later, so only they are
     * divided out, into 64 rows of height values. */
    transpose(s->b, s->a, height, width);
    sampled_slots(s->slot, width);
    box_down(s->a, s->b, width, height, along_rows, s->slot, s->sum);
    copy_shared(s->b, s->slot, width, height);
    /* b is now 64 x height (sampled column, picture row); the last pass runs along the rows
     * of its transpose (height x 64), keeping the 64 sampled rows. */
    transpose(s->b, s->a, SIDE, height);
    sampled_slots(s->slot, height);
    box_down(s->a, &grid[0][0], height, SIDE, along_cols, s->slot, s->sum);
    copy_shared(&grid[0][0], s->slot, height, SIDE);
}

/* The reference's step between two neighbours, in percent of full scale, truncated. */
static inline int step(float a, float b) { return abs((int)(((a - b) * 100.0f) / 255.0f)); }

/* Quality: the steps between neighbours down and across the grid (an integer sum, so in any
 * order), a ninetieth of it, at most 100. */
static int quality_of(float grid[SIDE][SIDE]) {
    int total = 0;
    for (int i = 0; i < SIDE; i++) {
        for (int j = 0; j < SIDE; j++) {
            if (i + 1 < SIDE) total += step(grid[i][j], grid[i + 1][j]);
            if (j + 1 < SIDE) total += step(grid[i][j], grid[i][j + 1]);
        }
    }
    int quality = total / 90;
    return quality > 100 ? 100 : quality;
}

/* out = a b for a of BAND x SIDE and b of SIDE x n, each sum over k in the reference's order
 * (k ascending, every product rounded before it is added), n sums side by side. */
static void product(const float *a, const float *b, float *out, int n) {
    for (int i = 0; i < BAND; i++) {
        float acc[SIDE] = {0};
        for (int k = 0; k < SIDE; k++) {
            const float x = a[i * SIDE + k];
            for (int j = 0; j < n; j++) acc[j] += x * b[k * n + j];
        }
        memcpy(out + i * n, acc, (size_t)n * sizeof(float));
    }
}

/* The 16 x 16 DCT: D A D^T. */
static void dct16(float grid[SIDE][SIDE], float out[BAND][BAND]) {
    float rows[BAND][SIDE];
    product(&dct[0][0], &grid[0][0], &rows[0][0], SIDE);
    product(&rows[0][0], &dct_t[0][0], &out[0][0], BAND);
}

/* Torben's median, as the reference computes it (which value it returns matters for ties). */
static float torben(const float *m, int n) {
    float min = m[0], max = m[0];
    for (int i = 1; i < n; i++) {
        if (m[i] < min) min = m[i];
        if (m[i] > max) max = m[i];
    }
    int less, greater, equal;
    float guess, below, above;
    for (;;) {
        guess = (min + max) / 2;
        less = greater = equal = 0;
        below = min;
        above = max;
        for (int i = 0; i < n; i++) {
            if (m[i] < guess) {
                less++;
                if (m[i] > below) below = m[i];
            } else if (m[i] > guess) {
                greater++;
                if (m[i] < above) above = m[i];
            } else {
                equal++;
            }
        }
        if (less <= (n + 1) / 2 && greater <= (n + 1) / 2) break;
        if (less > greater) {
            max = below;
        } else {
            min = above;
        }
    }
    if (less >= (n + 1) / 2) return below;
    if (less + equal >= (n + 1) / 2) return guess;
    return above;
}

/* Bit i * 16 + j for coefficient (i, j) above the median; the 256-bit number written most
 * significant byte first, as pdqhash's hex reads. */
static void bits(float coefficients[BAND][BAND], uint8_t out[HASH_BYTES]) {
    const float median = torben(&coefficients[0][0], BAND * BAND);
    memset(out, 0, HASH_BYTES);
    for (int k = 0; k < BAND * BAND; k++) {
        if ((&coefficients[0][0])[k] > median) out[HASH_BYTES - 1 - k / 8] |= (uint8_t)(1u << (k % 8));
    }
}

/* The DCT of a turned or flipped picture, from the picture's (the reference's rules): which
 * coefficients change sign, and whether the matrix is transposed. Order: as is, rotate 90,
 * rotate 180, rotate 270, flip vertical, flip horizontal, transpose, anti-transpose. */
static void turned(float a[BAND][BAND], int turn, float out[BAND][BAND]) {
    for (int i = 0; i < BAND; i++) {
        for (int j = 0; j < BAND; j++) {
            int negate;
            int transposed = 0;
            switch (turn) {
            case 1: negate = !(j & 1); transposed = 1; break;
            case 2: negate = (i + j) & 1; break;
            case 3: negate = !(i & 1); transposed = 1; break;
            case 4: negate = !(i & 1); break;
            case 5: negate = !(j & 1); break;
            case 6: negate = 0; transposed = 1; break;
            case 7: negate = (i + j) & 1; transposed = 1; break;
            default: negate = 0; break;
            }
            float value = negate ? -a[i][j] : a[i][j];
            if (transposed) {
                out[j][i] = value;
            } else {
                out[i][j] = value;
            }
        }
    }
}

static PyObject *pdq_hash(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer pixels;
    Py_ssize_t height, width;
    int dihedral;
    if (!PyArg_ParseTuple(args, "y*nnp", &pixels, &height, &width, &dihedral)) return NULL;
    PyObject *result = NULL;
    if (height < 1 || width < 1 || height > PY_SSIZE_T_MAX / 3 / width ||
        pixels.len != height * width * 3) {
        PyErr_SetString(PyExc_ValueError, "pixels must be height x width x 3 bytes (RGB)");
        goto done;
    }
    const int turns = dihedral ? TURNS : 1;
    uint8_t hashes[TURNS][HASH_BYTES];
    int quality = 0;
    memset(hashes, 0, sizeof(hashes));
    if (height >= MIN_SIDE && width >= MIN_SIDE) {
        const Py_ssize_t count = height * width;
        Py_ssize_t longer = height > width ? height : width;
        longer = longer > SIDE ? longer : SIDE; /* the last pass sums 64 columns */
        /* The sampled columns' rows (64 x height) outnumber the pixels under 64 wide. */
        const size_t floats = (size_t)(width < SIDE ? SIDE * height : count);
        float *block = malloc((2 * floats + (size_t)longer) * sizeof(float) +
                              (size_t)longer * sizeof(int));
        if (block == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        Scratch s = {block, block + floats, block + 2 * floats,
                     (int *)(block + 2 * floats + longer)};
        float grid[SIDE][SIDE];
        float coefficients[BAND][BAND], other[BAND][BAND];
        Py_BEGIN_ALLOW_THREADS;
        if (!dihedral && height == SIDE && width == SIDE) {
            luma(pixels.buf, count, &grid[0][0]); /* the reference's shortcut: no filter */
        } else {
            luma(pixels.buf, count, s.b);
            transpose(s.b, s.a, height, width);
            downsample(&s, height, width, grid);
        }
        quality = quality_of(grid);
        dct16(grid, coefficients);
        bits(coefficients, hashes[0]);
        for (int turn = 1; turn < turns; turn++) {
            turned(coefficients, turn, other);
            bits(other, hashes[turn]);
        }
        Py_END_ALLOW_THREADS;
        free(block);
    }
    result = Py_BuildValue("y#i", (const char *)hashes, (Py_ssize_t)(turns * HASH_BYTES), quality);
done:
    PyBuffer_Release(&pixels);
    return result;
}

static PyMethodDef methods[] = {
    {"pdq", pdq_hash, METH_VARARGS,
     "pdq(pixels, height, width, dihedral) -> (hashes, quality)\n\n"
     "PDQ of height x width RGB bytes, as pdqhash computes it: 32 bytes, most significant first,\n"
     "or with `dihedral` 8 x 32 (as is, then pdqhash's seven rotations and flips in its order)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pdq", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pdq(void) {
    init_dct();
    return PyModule_Create(&module);
}
