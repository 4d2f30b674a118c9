/* A GIF frame's LZW codes decoded into palette indices, as Pillow's GIF decoder decodes them.
 *
 * Why our own: Pillow's decoder (libImaging/GifDecode.c) spends 4 to 5 ns a pixel, a pixel at
 * a time through a suspendable state machine, and an animated GIF is every frame decoded in
 * full: a 56-frame clip of 400 x 300 took it about 30 ms of a 2-core server's time. Here the
 * codes of a whole frame are read in one call and each code's string is written straight
 * into the frame, last byte first, from a table that knows every string's length.
 *
 * Only a clean frame is decoded here: codes that fill every pixel of the frame before any end
 * code, empty sub-block or code the table does not hold. Anything else is reported as such and
 * `media.gif` hands the data to Pillow's decoder, whose result (a partly drawn frame, reading
 * on past the frame's data, an error) is the one kept. For a clean frame the pixels are the
 * same as Pillow's by construction, which tests/media/test_gif.py checks.
 *
 * Nothing here trusts its input: every read is bounded by the bytes given, every write by the
 * frame's size, and codes are checked against the table before they are followed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define TABLE 4096   /* codes of at most 12 bits */
#define MAX_BITS 12

enum { DONE = 0, MORE = 1, UNCLEAN = 2 };

/* Every code's string is in the frame already: a new code is the string of the code before it
 * and the first byte of the next one, which is where the code before was just written and the
 * byte after it. So a code's string is copied from where it was made, instead of followed back
 * through the table a byte at a time (Pillow's way, and the cost of it). A byte's own code is
 * copied from a row of the 256 bytes kept just before the frame, so every code is one copy. */
typedef struct {
    const uint8_t *at[TABLE]; /* where its string is */
    uint16_t length[TABLE];   /* its string's length */
} Table;

#define SLACK 16                  /* a string this short is moved in one 16-byte copy */
#define BYTES_ROW (256 + SLACK)   /* the bytes 0-255, before the frame in the same buffer */

/* The payload of the frame's sub-blocks, up to its empty block, without their length bytes;
 * `ended` tells whether that empty block was there (else the data stops first). A block cut
 * short by the end of the data is left out: Pillow reads a block only once it has all of it. */
static Py_ssize_t payload(const uint8_t *data, Py_ssize_t size, uint8_t *out, int *ended) {
    Py_ssize_t pos = 0, n = 0;
    *ended = 0;
    while (pos < size) {
        Py_ssize_t block = data[pos];
        if (block == 0) {
            *ended = 1;
            break;
        }
        if (pos + 1 + block > size) break;
        memcpy(out + n, data + pos + 1, (size_t)block);
        n += block;
        pos += 1 + block;
    }
    return n;
}

/* The frame's indices in the order the codes give them, from the payload's codes (with 8
 * zero bytes after them, for whole-word reads), into `out`, which has BYTES_ROW bytes before
 * it and SLACK after its `count`; DONE once `count` are written, otherwise `short_status` (the
 * payload ran out). UNCLEAN for a code Pillow would read otherwise. */
static int decode_codes(const uint8_t *codes, Py_ssize_t size, int bits, uint8_t *out,
                        Py_ssize_t count, Table *t, int short_status) {
    const int clear = 1 << bits, end = clear + 1;
    uint8_t *bytes = out - BYTES_ROW;
    for (int c = 0; c < 256; c++) bytes[c] = (uint8_t)c;
    for (int c = 0; c < clear; c++) {
        t->at[c] = bytes + c;
        t->length[c] = 1;
    }
    int next = clear + 2, codesize = bits + 1;
    uint32_t codemask = (1u << codesize) - 1;
    int last = -1;                  /* the previous code; -1 right after a clear code */
    const uint8_t *last_at = out;   /* where its string was just written */
    uint64_t bit = 0;
    const uint64_t total_bits = (uint64_t)size * 8;
    Py_ssize_t written = 0;
    while (written < count) {
        if (bit + (uint64_t)codesize > total_bits) return short_status;
        uint64_t word;
        memcpy(&word, codes + (bit >> 3), 8); /* little-endian: GIF's bit order */
        int code = (int)((word >> (bit & 7)) & codemask);
        bit += (uint64_t)codesize;
        if (code == clear) {
            next = clear + 2;
            codesize = bits + 1;
            codemask = (1u << codesize) - 1;
            last = -1;
            continue;
        }
        if (code == end || (last < 0 ? code > clear : code > next)) return UNCLEAN;
        /* `next` itself is the last code's string and its own first byte */
        const uint8_t *from = code == next ? last_at : t->at[code];
        Py_ssize_t n = code == next ? t->length[last] + 1 : t->length[code];
        Py_ssize_t copied = n - (code == next), room = count - written;
        if (n > room) n = room; /* past the frame's last pixel: dropped, as Pillow does */
        if (copied > n) copied = n;
        uint8_t *to = out + written;
        if (copied <= SLACK && from + SLACK <= to)
            memcpy(to, from, SLACK); /* one move; the bytes past n are written again later */
        else
            memcpy(to, from, (size_t)copied); /* a string ends before where it is copied to */
        if (copied < n) to[copied] = from[0];
        if (last >= 0 && next < TABLE) { /* the last code's string and this one's first byte */
            t->at[next] = last_at;
            t->length[next] = (uint16_t)(t->length[last] + 1);
            if (next == (int)codemask && codesize < MAX_BITS) {
                codesize++;
                codemask = (1u << codesize) - 1;
            }
            next++;
        }
        last = code;
        last_at = to;
        written += n;
    }
    return DONE;
}

/* Row `k` of an interlaced frame, in the order its rows are stored: every eighth row from 0,
 * every eighth from 4, every fourth from 2, every second from 1. */
static Py_ssize_t interlaced_row(Py_ssize_t k, Py_ssize_t height) {
    Py_ssize_t pass1 = (height + 7) / 8, pass2 = (height + 3) / 8, pass3 = (height + 1) / 4;
    if (k < pass1) return k * 8;
    k -= pass1;
    if (k < pass2) return 4 + k * 8;
    k -= pass2;
    if (k < pass3) return 2 + k * 4;
    return 1 + (k - pass3) * 2;
}

/* lzw(data, bits, width, height, interlaced, transparency) -> (status, pixels, mask) */
static PyObject *lzw(PyObject *self, PyObject *args) {
    Py_buffer data;
    int bits, interlaced, transparency;
    Py_ssize_t width, height;
    if (!PyArg_ParseTuple(args, "y*innpi", &data, &bits, &width, &height, &interlaced,
                          &transparency))
        return NULL;
    if (bits < 2 || bits > 8 || width < 1 || height < 1 || width > PY_SSIZE_T_MAX / height) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "bad code size or frame size");
        return NULL;
    }
    Py_ssize_t count = width * height;
    PyObject *pixels = NULL;
    uint8_t *buffer = NULL, *codes = NULL;
    Table *table = NULL;
    if (count <= PY_SSIZE_T_MAX - BYTES_ROW - SLACK && data.len <= PY_SSIZE_T_MAX - 8) {
        pixels = PyBytes_FromStringAndSize(NULL, count);
        buffer = PyMem_Malloc((size_t)(BYTES_ROW + count + SLACK));
        table = PyMem_Malloc(sizeof(Table));
        codes = PyMem_Malloc((size_t)data.len + 8);
    }
    if (pixels == NULL || table == NULL || codes == NULL || buffer == NULL) {
        PyBuffer_Release(&data);
        Py_XDECREF(pixels);
        PyMem_Free(buffer);
        PyMem_Free(table);
        PyMem_Free(codes);
        return PyErr_NoMemory();
    }
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(pixels), *decoded = buffer + BYTES_ROW;
    int status;
    Py_BEGIN_ALLOW_THREADS;
    int ended;
    Py_ssize_t size = payload(data.buf, data.len, codes, &ended);
    memset(codes + size, 0, 8);
    status = decode_codes(codes, size, bits, decoded, count, table, ended ? UNCLEAN : MORE);
    if (status == DONE && interlaced)
        for (Py_ssize_t k = 0; k < height; k++)
            memcpy(out + interlaced_row(k, height) * width, decoded + k * width, (size_t)width);
    else if (status == DONE)
        memcpy(out, decoded, (size_t)count);
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&data);
    PyMem_Free(buffer);
    PyMem_Free(table);
    PyMem_Free(codes);
    if (status != DONE) {
        Py_DECREF(pixels);
        return Py_BuildValue("iOO", status, Py_None, Py_None);
    }
    /* Pillow leaves a pixel of the transparent index as it was: a mask of the others. */
    PyObject *mask = Py_None;
    Py_INCREF(mask);
    if (transparency >= 0 && transparency < 256 && memchr(out, transparency, (size_t)count)) {
        Py_DECREF(mask);
        mask = PyBytes_FromStringAndSize(NULL, count);
        if (mask == NULL) {
            Py_DECREF(pixels);
            return NULL;
        }
        uint8_t *m = (uint8_t *)PyBytes_AS_STRING(mask);
        for (Py_ssize_t i = 0; i < count; i++) m[i] = out[i] == transparency ? 0 : 255;
    }
    return Py_BuildValue("iNN", DONE, pixels, mask);
}

/* blocks_end(data, start) -> where the chain of sub-blocks from `start` ends: just past its
 * empty block, or the end of the data (a length byte's block cut short ends it there). */
static PyObject *blocks_end(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t pos;
    if (!PyArg_ParseTuple(args, "y*n", &data, &pos)) return NULL;
    if (pos < 0) pos = 0;
    const uint8_t *bytes = data.buf;
    while (pos < data.len) {
        Py_ssize_t block = bytes[pos++];
        if (block == 0) break;
        pos = block < data.len - pos ? pos + block : data.len;
    }
    if (pos > data.len) pos = data.len;
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(pos);
}

static PyMethodDef methods[] = {
    {"blocks_end", blocks_end, METH_VARARGS,
     "blocks_end(data, start) -> int\n\n"
     "The index just past the chain of sub-blocks that starts at `start` (past its empty\n"
     "block), or the data's length if it ends first."},
    {"lzw", lzw, METH_VARARGS,
     "lzw(data, bits, width, height, interlaced, transparency) -> (status, pixels, mask)\n\n"
     "A frame's image data (its sub-blocks, each with its length byte) decoded to width x\n"
     "height palette indices, rows in display order. status 0: done; 1: the data ends before\n"
     "the frame does; 2: not a clean frame (Pillow must read it). mask: 255 for each pixel\n"
     "to draw, 0 for the transparent index; None when every pixel is drawn."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_gif", NULL, -1, methods};

PyMODINIT_FUNC PyInit__gif(void) { return PyModule_Create(&module); }
