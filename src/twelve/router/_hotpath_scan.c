/* The bytes the router reads for every request: the request line's version, header names by
 * kind, and whether a response head is plain enough to pass on as it is. */
#include "_hotpath.h"

PyObject *
line_version(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "data must be bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    const char *start = PyBytes_AS_STRING(data);
    const char *lf = memchr(start, '\n', (size_t)PyBytes_GET_SIZE(data));
    /* The first LF must end the first CRLF, with a space and "HTTP/1.x" before it: without the
     * space the version is part of the target ("GET /HTTP/1.1"), and llhttp reads no version. */
    if (lf == NULL || lf - start < 10 || lf[-1] != '\r' || lf[-10] != ' ')
        return PyBytes_FromStringAndSize(NULL, 0);
    return PyBytes_FromStringAndSize(lf - 9, 8);
}

/* (name, kind) pairs: header_kind compares a few names by length and bytes, which costs less than
 * hashing a lowercased copy of every header name to look it up. A type of its own, so that
 * header_kind knows by one pointer comparison that its table is one header_table made. */
typedef struct {
    PyObject_HEAD
    Py_ssize_t count;
    PyObject **names; /* bytes, lowercase */
    PyObject **kinds;
} HeaderTable;

static int
HeaderTable_traverse(HeaderTable *t, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < t->count; i++) {
        Py_VISIT(t->names[i]);
        Py_VISIT(t->kinds[i]);
    }
    return 0;
}

static int
HeaderTable_clear(HeaderTable *t)
{
    for (Py_ssize_t i = 0; i < t->count; i++) {
        Py_CLEAR(t->names[i]);
        Py_CLEAR(t->kinds[i]);
    }
    return 0;
}

static void
HeaderTable_dealloc(HeaderTable *t)
{
    PyObject_GC_UnTrack(t);
    HeaderTable_clear(t);
    PyMem_Free(t->names);
    PyMem_Free(t->kinds);
    PyObject_GC_Del(t);
}

PyTypeObject HeaderTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "twelve.router._hotpath.HeaderTable",
    .tp_basicsize = sizeof(HeaderTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Header names and their kinds, as header_table made them for header_kind.",
    .tp_traverse = (traverseproc)HeaderTable_traverse,
    .tp_clear = (inquiry)HeaderTable_clear,
    .tp_dealloc = (destructor)HeaderTable_dealloc,
};

PyObject *
header_table(PyObject *module, PyObject *kinds)
{
    (void)module;
    if (!PyDict_Check(kinds)) {
        PyErr_Format(PyExc_TypeError, "kinds must be a dict, not %.100s", Py_TYPE(kinds)->tp_name);
        return NULL;
    }
    Py_ssize_t count = PyDict_GET_SIZE(kinds);
    HeaderTable *table = PyObject_GC_New(HeaderTable, &HeaderTableType);
    if (table == NULL)
        return NULL;
    table->count = 0;
    table->names = PyMem_Calloc((size_t)(count ? count : 1), sizeof(PyObject *));
    table->kinds = PyMem_Calloc((size_t)(count ? count : 1), sizeof(PyObject *));
    if (table->names == NULL || table->kinds == NULL) {
        Py_DECREF(table);
        return PyErr_NoMemory();
    }
    Py_ssize_t at = 0;
    PyObject *key, *value;
    while (table->count < count && PyDict_Next(kinds, &at, &key, &value)) {
        if (!PyBytes_Check(key)) {
            PyErr_Format(PyExc_TypeError, "header names must be bytes, not %.100s",
                         Py_TYPE(key)->tp_name);
            Py_DECREF(table);
            return NULL;
        }
        table->names[table->count] = Py_NewRef(key);
        table->kinds[table->count] = Py_NewRef(value);
        table->count++;
    }
    PyObject_GC_Track(table);
    return (PyObject *)table;
}

PyObject *
header_kind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "header_kind takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *name = args[0], *fallback = args[2];
    if (!PyBytes_Check(name)) {
        PyErr_Format(PyExc_TypeError, "name must be bytes, not %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    if (!Py_IS_TYPE(args[1], &HeaderTableType)) {
        PyErr_Format(PyExc_TypeError, "table must be what header_table made, not %.100s",
                     Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    const HeaderTable *table = (const HeaderTable *)args[1];
    const unsigned char *text = (const unsigned char *)PyBytes_AS_STRING(name);
    Py_ssize_t size = PyBytes_GET_SIZE(name);
    for (Py_ssize_t n = 0; n < table->count; n++) {
        PyObject *key = table->names[n];
        if (PyBytes_GET_SIZE(key) != size)
            continue;
        const unsigned char *lower = (const unsigned char *)PyBytes_AS_STRING(key);
        Py_ssize_t i = 0;
        while (i < size && (text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]) == lower[i])
            i++;
        if (i == size)
            return Py_NewRef(table->kinds[n]);
    }
    return Py_NewRef(fallback);
}

/* Response headers of one connection: a head holding one is re-framed, never passed on. */
static const piece response_hop_by_hop[] = {RESPONSE_HOP_BY_HOP};

/* Whether name (n bytes) is lower, ASCII letters in any case. */
static int
same_name(const char *name, Py_ssize_t n, const piece *lower)
{
    if (n != lower->size)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + ('a' - 'A'));
        if (c != (unsigned char)lower->data[i])
            return 0;
    }
    return 1;
}

/* The token characters of a header name (RFC 9110 5.6.2), by byte: a table, since a name is
 * checked byte by byte. */
static const unsigned char tchars[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};
#define tchar(c) (tchars[(unsigned char)(c)])

/* Visible ASCII, space or tab: all a reason phrase or header value may hold here. */
static inline int
field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c <= 0x7e);
}

PyObject *
plain_response(PyObject *module, PyObject *data)
{
    (void)module;
    static const piece content_length = {"content-length", 14};
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "data must be bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    const unsigned char *const start = (const unsigned char *)PyBytes_AS_STRING(data);
    const unsigned char *const end = start + PyBytes_GET_SIZE(data);
    const unsigned char *p = start;
    /* The status line: HTTP/1.0 or 1.1, three digits, then nothing or a space and a reason. */
    if (end - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        Py_RETURN_NONE;
    p += 9;
    for (int i = 0; i < 3; i++)
        if (p[i] < '0' || p[i] > '9')
            Py_RETURN_NONE;
    int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    /* Interim and bodiless responses (1xx, 204, 304) end otherwise: not for this path. */
    if (status < 200 || status > 599 || status == 204 || status == 304)
        Py_RETURN_NONE;
    p += 3;
    if (*p == ' ')
        for (p++; p < end && *p >= 0x20 && *p <= 0x7e; p++)
            ;
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
        Py_RETURN_NONE;
    p += 2;
    long long length = -1;
    for (;;) {
        if (end - p < 2)
            Py_RETURN_NONE; /* the head is not all there */
        if (p[0] == '\r') {
            if (p[1] != '\n')
                Py_RETURN_NONE;
            p += 2;
            break;
        }
        const unsigned char *name = p;
        while (p < end && tchar(*p))
            p++;
        if (p == name || p >= end || *p != ':')
            Py_RETURN_NONE;
        Py_ssize_t n = p - name;
        for (size_t k = 0; k < sizeof response_hop_by_hop / sizeof *response_hop_by_hop; k++)
            if (same_name((const char *)name, n, &response_hop_by_hop[k]))
                Py_RETURN_NONE;
        for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
            ;
        const unsigned char *value = p;
        while (p < end && field_char(*p))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            Py_RETURN_NONE;
        const unsigned char *value_end = p;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
        p += 2;
        if (same_name((const char *)name, n, &content_length)) {
            if (length >= 0 || value_end == value || value_end - value > 18)
                Py_RETURN_NONE; /* a second one, or none or too long a number */
            length = 0;
            for (const unsigned char *d = value; d < value_end; d++) {
                if (*d < '0' || *d > '9')
                    Py_RETURN_NONE;
                length = length * 10 + (*d - '0');
            }
        }
    }
    if (length < 0)
        Py_RETURN_NONE; /* the body ends when the app closes: re-framed */
    /* Two ints in a tuple, made directly: Py_BuildValue would parse its format on every call. */
    PyObject *found = PyTuple_New(2);
    PyObject *code = PyLong_FromLong(status);
    PyObject *ends = PyLong_FromLongLong((long long)(p - start) + length);
    if (found == NULL || code == NULL || ends == NULL) {
        Py_XDECREF(found);
        Py_XDECREF(code);
        Py_XDECREF(ends);
        return NULL;
    }
    PyTuple_SET_ITEM(found, 0, code);
    PyTuple_SET_ITEM(found, 1, ends);
    return found;
}
