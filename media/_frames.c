/* An animation frame's signature: the mean grey of each of side x side boxes, in one pass.
 *
 * Why our own: every frame of an animation or video gets a signature (`media.frames`), so the
 * sampler can tell what stays on screen. With Pillow it was three passes over the frame (grey
 * through the palette or from RGB, a copy, a box resize, and for RGBA a pass to see whether
 * any pixel is transparent): about 0.2 ms a frame, a tenth to a fifth of a GIF's or WebP's
 * whole cost to a worker. Here each pixel is read once: its grey (through the frame's palette,
 * or from RGB as Pillow's "L" makes it), shown on white by its alpha, added to its box.
 *
 * The boxes split the frame into side x side parts of whole pixels (their sizes differ by at
 * most one pixel; a frame narrower than `side` repeats its pixels). Nothing here trusts the
 * caller: sizes are checked against the bytes given.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_SIDE 64
/* Pillow's grey of an RGB pixel ("L", ITU-R 601-2 luma) in 65536ths; a box's grey is the mean
 * of its pixels' exact greys, rounded once. */
#define WR 19595
#define WG 38470
#define WB 7471
#define FOUR_BYTE_UNIT (65536ULL * 255) /* four-byte pixels are summed in these parts */

/* The frame's pixels: from a Pillow image's Arrow export (no copy), or any bytes. */
typedef struct {
    Py_buffer view; /* when given bytes */
    const uint8_t *pixels;
} Pixels;

struct ArrowArray { /* the Arrow C data interface's array (a stable ABI) */
    int64_t length, null_count, offset, n_buffers, n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

/* The pixels of `source` (an "arrow_array" capsule, or a bytes-like object) holding `bytes`
 * bytes; 0 with an error set when it does not. */
static int get_pixels(PyObject *source, Py_ssize_t bytes, int pixel_bytes, Pixels *out) {
    out->view.obj = NULL;
    if (PyCapsule_CheckExact(source)) {
        struct ArrowArray *array = PyCapsule_GetPointer(source, "arrow_array");
        if (array == NULL) return 0;
        if (array->release != NULL && pixel_bytes == 4 && array->n_children == 1)
            array = array->children[0]; /* four uint8 a pixel, in the child */
        if (array == NULL || array->release == NULL || array->n_buffers != 2 ||
            array->offset != 0 || array->buffers == NULL || array->buffers[1] == NULL ||
            array->length < bytes) {
            PyErr_SetString(PyExc_ValueError, "not an exported picture of this size");
            return 0;
        }
        out->pixels = array->buffers[1];
        return 1;
    }
    if (PyObject_GetBuffer(source, &out->view, PyBUF_SIMPLE) < 0) return 0;
    if (out->view.len < bytes) {
        PyBuffer_Release(&out->view);
        PyErr_SetString(PyExc_ValueError, "fewer bytes than the frame's pixels");
        return 0;
    }
    out->pixels = out->view.buf;
    return 1;
}

/* The box row's pixels [x0, x1) x [y0, y1), transparent ones shown on white, in
 * FOUR_BYTE_UNIT parts of a grey level (only boxes with a transparent pixel come here). */
static uint64_t shown_on_white(const uint8_t *pixels, Py_ssize_t stride, Py_ssize_t x0,
                               Py_ssize_t x1, Py_ssize_t y0, Py_ssize_t y1) {
    uint64_t total = 0;
    for (Py_ssize_t y = y0; y < y1; y++)
        for (Py_ssize_t x = x0; x < x1; x++) {
            const uint8_t *p = pixels + y * stride + 4 * x;
            uint64_t a = p[3];
            total += ((uint64_t)p[0] * WR + (uint64_t)p[1] * WG + (uint64_t)p[2] * WB) * a +
                     65536ULL * 255 * (255 - a);
        }
    return total;
}

/* One row of boxes of one-byte pixels: each box's greys through the table, in a register. */
static void grey_row(const uint8_t *pixels, Py_ssize_t stride, const uint8_t *lut,
                     Py_ssize_t y0, Py_ssize_t y1, int side, const Py_ssize_t *xs,
                     const Py_ssize_t *ends, int16_t *out) {
    for (int i = 0; i < side; i++) {
        uint32_t sum = 0;
        for (Py_ssize_t y = y0; y < y1; y++) {
            const uint8_t *row = pixels + y * stride;
            for (Py_ssize_t x = xs[i]; x < ends[i]; x++) sum += lut[row[x]];
        }
        uint64_t count = (uint64_t)(ends[i] - xs[i]) * (uint64_t)(y1 - y0);
        out[i] = (int16_t)((sum + count / 2) / count);
    }
}

/* One row of boxes of four-byte pixels: every column's bytes summed down the rows first (a
 * vector add a row), then each box's columns once; a box with a transparent pixel is read
 * again pixel by pixel, shown on white. */
static void four_byte_row(const uint8_t *pixels, Py_ssize_t stride, int alpha, Py_ssize_t y0,
                          Py_ssize_t y1, int side, const Py_ssize_t *xs, const Py_ssize_t *ends,
                          uint32_t *columns, int16_t *out) {
    memset(columns, 0, (size_t)stride * sizeof(uint32_t));
    for (Py_ssize_t y = y0; y < y1; y++) {
        const uint8_t *row = pixels + y * stride;
        for (Py_ssize_t k = 0; k < stride; k++) columns[k] += row[k];
    }
    for (int i = 0; i < side; i++) {
        uint64_t count = (uint64_t)(ends[i] - xs[i]) * (uint64_t)(y1 - y0), total;
        uint64_t c[4] = {0, 0, 0, 0};
        for (Py_ssize_t x = xs[i]; x < ends[i]; x++)
            for (int k = 0; k < 4; k++) c[k] += columns[4 * x + k];
        if (alpha && c[3] != 255 * count)
            total = shown_on_white(pixels, stride, xs[i], ends[i], y0, y1);
        else
            total = (c[0] * WR + c[1] * WG + c[2] * WB) * 255;
        uint64_t parts = count * FOUR_BYTE_UNIT;
        out[i] = (int16_t)((total + parts / 2) / parts);
    }
}

/* grey_boxes(pixels, width, height, pixel_bytes, lut, alpha, side) -> side * side int16 */
static PyObject *grey_boxes(PyObject *self, PyObject *args) {
    PyObject *source;
    Py_buffer lut;
    Py_ssize_t width, height;
    int pixel_bytes, alpha, side;
    if (!PyArg_ParseTuple(args, "Onniy*pi", &source, &width, &height, &pixel_bytes, &lut, &alpha,
                          &side))
        return NULL;
    const char *problem = NULL;
    if (width < 1 || height < 1 || side < 1 || side > MAX_SIDE ||
        (pixel_bytes != 1 && pixel_bytes != 4) || width > PY_SSIZE_T_MAX / height / 4)
        problem = "bad frame size, pixel size or side";
    else if (pixel_bytes == 1 && lut.len < 256)
        problem = "a one-byte frame needs a table of 256 greys";
    else if (pixel_bytes == 1 && alpha)
        problem = "only four-byte pixels have alpha";
    Pixels pixels;
    if (problem != NULL || !get_pixels(source, width * height * pixel_bytes, pixel_bytes, &pixels)) {
        PyBuffer_Release(&lut);
        if (problem != NULL) PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)side * side * 2);
    Py_ssize_t stride = width * pixel_bytes;
    uint32_t *columns = NULL; /* four-byte pixels' column sums */
    if (result != NULL && pixel_bytes == 4)
        columns = PyMem_Malloc((size_t)stride * sizeof(uint32_t));
    if (result != NULL && pixel_bytes == 4 && columns == NULL) {
        Py_CLEAR(result);
        PyErr_NoMemory();
    }
    if (result != NULL) {
        int16_t *out = (int16_t *)PyBytes_AS_STRING(result);
        Py_ssize_t xs[MAX_SIDE + 1], ends[MAX_SIDE];
        for (int i = 0; i <= side; i++) xs[i] = width * i / side;
        for (int i = 0; i < side; i++) /* a frame narrower than `side`: columns repeat */
            ends[i] = xs[i + 1] > xs[i] ? xs[i + 1] : xs[i] + 1;
        Py_BEGIN_ALLOW_THREADS;
        for (int j = 0; j < side; j++) {
            Py_ssize_t y0 = height * j / side, y1 = height * (j + 1) / side;
            if (y1 <= y0) y1 = y0 + 1; /* a frame shorter than `side`: rows repeat */
            if (pixel_bytes == 1)
                grey_row(pixels.pixels, stride, lut.buf, y0, y1, side, xs, ends, out + j * side);
            else
                four_byte_row(pixels.pixels, stride, alpha, y0, y1, side, xs, ends, columns,
                              out + j * side);
        }
        Py_END_ALLOW_THREADS;
    }
    PyMem_Free(columns);
    if (pixels.view.obj != NULL) PyBuffer_Release(&pixels.view);
    PyBuffer_Release(&lut);
    return result;
}

static PyMethodDef methods[] = {
    {"grey_boxes", grey_boxes, METH_VARARGS,
     "grey_boxes(pixels, width, height, pixel_bytes, lut, alpha, side) -> bytes\n\n"
     "The mean grey of side x side boxes of a frame (native int16, row by row). `pixels`:\n"
     "bytes, or the array capsule of a Pillow image's Arrow export (read without a copy).\n"
     "One-byte pixels are greys through `lut` (256 bytes); four-byte pixels are RGBX, or RGBA\n"
     "shown on white with `alpha`."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_frames", NULL, -1, methods};

PyMODINIT_FUNC PyInit__frames(void) { return PyModule_Create(&module); }
