/* The byte work the router does for every request, in C: the access line and the upstream head,
 * each written straight into one buffer, two scans of what the client sent and one of what the
 * app answered.
 *
 * Built with the compiled router (twelve.router.native); hotpath.py holds the same functions in
 * Python, which run when this module is not built, and the tests hold both to the same results.
 * Done with bytes %, join and bytes methods, these were the largest costs the proxy itself added
 * to a request: each piece became an object, each number went through the generic int formatter,
 * each method call was looked up by name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* messages._MAX_LOGGED: a longer logged value is cut there and ends in "..." */
#define MAX_LOGGED 2048

typedef struct {
    const char *data;
    Py_ssize_t size;
} piece;

static int
bytes_arg(PyObject *obj, const char *name, piece *out)
{
    if (!PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be bytes, not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    out->data = PyBytes_AS_STRING(obj);
    out->size = PyBytes_GET_SIZE(obj);
    return 0;
}

static int
int_arg(PyObject *obj, const char *name, long long *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be int, not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    /* PyLong_AsLongAndOverflow reads a timestamp's digits directly; PyLong_AsLongLong takes a
     * slower, general path for any int past one digit. */
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(obj, &overflow);
    if (overflow == 0) {
        *out = value;
        return (value == -1 && PyErr_Occurred()) ? -1 : 0;
    }
    *out = PyLong_AsLongLong(obj);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* Printable ASCII but '"' and '\\' stays as it is in a log field (messages._UNSAFE_LOG_CHARS). */
static inline int
log_safe_char(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

/* Bytes log_safe() makes of a value of ``size`` bytes (cut at MAX_LOGGED, unsafe ones %XX). */
static Py_ssize_t
log_safe_size(const piece *p)
{
    Py_ssize_t n = p->size > MAX_LOGGED ? MAX_LOGGED : p->size;
    Py_ssize_t size = n + (p->size > MAX_LOGGED ? 3 : 0);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!log_safe_char((unsigned char)p->data[i]))
            size += 2;
    }
    return size;
}

static char *
put(char *at, const char *data, Py_ssize_t size)
{
    memcpy(at, data, (size_t)size);
    return at + size;
}

#define PUT_LITERAL(at, text) put((at), (text), (Py_ssize_t)(sizeof(text) - 1))

static char *
put_log_safe(char *at, const piece *p)
{
    static const char hex[] = "0123456789ABCDEF";
    Py_ssize_t n = p->size > MAX_LOGGED ? MAX_LOGGED : p->size;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->data[i];
        if (log_safe_char(c)) {
            *at++ = (char)c;
        } else {
            *at++ = '%';
            *at++ = hex[c >> 4];
            *at++ = hex[c & 15];
        }
    }
    if (p->size > MAX_LOGGED)
        at = PUT_LITERAL(at, "...");
    return at;
}

/* Decimal digits of ``value`` into ``digits`` (at least 21 bytes); returns how many. */
static Py_ssize_t
decimal(long long value, char *digits)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "6263646566676869707172737475767778798081828384858687888990919293"
                                "949596979899";
    char reversed[24];
    Py_ssize_t n = 0;
    unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    while (v >= 100) { /* two digits a step: the timestamps here have thirteen */
        unsigned long long pair = (v % 100) * 2;
        v /= 100;
        reversed[n++] = pairs[pair + 1];
        reversed[n++] = pairs[pair];
    }
    if (v >= 10) {
        reversed[n++] = pairs[v * 2 + 1];
        reversed[n++] = pairs[v * 2];
    } else {
        reversed[n++] = (char)('0' + v);
    }
    Py_ssize_t size = 0;
    if (value < 0)
        digits[size++] = '-';
    while (n)
        digits[size++] = reversed[--n];
    return size;
}

PyDoc_STRVAR(access_line_doc,
             "access_line(app_json, at, method, path, host, request_id, fwd, dyno, connect_ms, "
             "service_ms, status, nbytes)\n--\n\n"
             "One access line as JSON, ending in a newline (see hotpath.access_line_py).");

static PyObject *
access_line(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *names[] = {"app_json", "at",  "method", "path", "host", "request_id",
                                  "fwd",      "dyno"};
    static const char *int_names[] = {"connect_ms", "service_ms", "status", "nbytes"};
    piece p[8];
    long long numbers[4];
    char digits[4][24];
    Py_ssize_t digit_sizes[4];
    (void)module;
    if (nargs != 12) {
        PyErr_Format(PyExc_TypeError, "access_line takes 12 arguments (%zd given)", nargs);
        return NULL;
    }
    for (int i = 0; i < 8; i++) {
        if (bytes_arg(args[i], names[i], &p[i]) < 0)
            return NULL;
    }
    for (int i = 0; i < 4; i++) {
        if (int_arg(args[8 + i], int_names[i], &numbers[i]) < 0)
            return NULL;
        digit_sizes[i] = decimal(numbers[i], digits[i]);
    }
    static const char s_app[] = "{\"app\": ";
    static const char s_line[] = ", \"line\": \"";
    static const char s_method[] = " method=";
    static const char s_path[] = " path=\\\"";
    static const char s_host[] = "\\\" host=";
    static const char s_rid[] = " request_id=";
    static const char s_fwd[] = " fwd=\\\"";
    static const char s_dyno[] = "\\\" dyno=";
    static const char s_connect[] = " connect=";
    static const char s_service[] = "ms service=";
    static const char s_status[] = "ms status=";
    static const char s_bytes[] = " bytes=";
    static const char s_end[] = "\"}\n";
    Py_ssize_t literals = sizeof(s_app) + sizeof(s_line) + sizeof(s_method) + sizeof(s_path) +
                          sizeof(s_host) + sizeof(s_rid) + sizeof(s_fwd) + sizeof(s_dyno) +
                          sizeof(s_connect) + sizeof(s_service) + sizeof(s_status) +
                          sizeof(s_bytes) + sizeof(s_end) - 13;
    Py_ssize_t size = literals + log_safe_size(&p[3]);
    for (int i = 0; i < 8; i++) {
        if (i != 3)
            size += p[i].size;
    }
    for (int i = 0; i < 4; i++)
        size += digit_sizes[i];
    PyObject *line = PyBytes_FromStringAndSize(NULL, size);
    if (line == NULL)
        return NULL;
    char *at = PyBytes_AS_STRING(line);
    at = PUT_LITERAL(at, s_app);
    at = put(at, p[0].data, p[0].size);
    at = PUT_LITERAL(at, s_line);
    at = put(at, p[1].data, p[1].size);
    at = PUT_LITERAL(at, s_method);
    at = put(at, p[2].data, p[2].size);
    at = PUT_LITERAL(at, s_path);
    at = put_log_safe(at, &p[3]);
    at = PUT_LITERAL(at, s_host);
    at = put(at, p[4].data, p[4].size);
    at = PUT_LITERAL(at, s_rid);
    at = put(at, p[5].data, p[5].size);
    at = PUT_LITERAL(at, s_fwd);
    at = put(at, p[6].data, p[6].size);
    at = PUT_LITERAL(at, s_dyno);
    at = put(at, p[7].data, p[7].size);
    at = PUT_LITERAL(at, s_connect);
    at = put(at, digits[0], digit_sizes[0]);
    at = PUT_LITERAL(at, s_service);
    at = put(at, digits[1], digit_sizes[1]);
    at = PUT_LITERAL(at, s_status);
    at = put(at, digits[2], digit_sizes[2]);
    at = PUT_LITERAL(at, s_bytes);
    at = put(at, digits[3], digit_sizes[3]);
    at = PUT_LITERAL(at, s_end);
    if (at != PyBytes_AS_STRING(line) + size) { /* the two passes disagree: a bug here */
        Py_DECREF(line);
        PyErr_SetString(PyExc_SystemError, "access_line: size mismatch");
        return NULL;
    }
    return line;
}

PyDoc_STRVAR(upstream_head_doc,
             "upstream_head(parts, forwarded, host, request_id, start_ms, tail)\n--\n\n"
             "The request head sent to the backend (see hotpath.upstream_head_py).");

static PyObject *
upstream_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    piece forwarded, host, request_id, tail;
    long long start_ms;
    char digits[24];
    (void)module;
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "upstream_head takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *parts = args[0];
    if (!PyList_Check(parts)) {
        PyErr_Format(PyExc_TypeError, "parts must be a list, not %.100s", Py_TYPE(parts)->tp_name);
        return NULL;
    }
    if (bytes_arg(args[1], "forwarded", &forwarded) < 0 || bytes_arg(args[2], "host", &host) < 0 ||
        bytes_arg(args[3], "request_id", &request_id) < 0 ||
        int_arg(args[4], "start_ms", &start_ms) < 0 || bytes_arg(args[5], "tail", &tail) < 0)
        return NULL;
    Py_ssize_t digit_size = decimal(start_ms, digits);
    static const char s_host[] = "X-Forwarded-Host: ";
    static const char s_rid[] = "\r\nX-Request-Id: ";
    static const char s_start[] = "\r\nX-Request-Start: ";
    static const char s_crlf[] = "\r\n";
    Py_ssize_t count = PyList_GET_SIZE(parts);
    if (count < 4 || count % 2) {
        PyErr_Format(PyExc_ValueError,
                     "parts must be the request line's 4 pieces and name, value pairs (%zd items)",
                     count);
        return NULL;
    }
    /* Each pair becomes "name: value\r\n". */
    Py_ssize_t size = forwarded.size + host.size + request_id.size + digit_size + tail.size +
                      (Py_ssize_t)(sizeof(s_host) + sizeof(s_rid) + sizeof(s_start) +
                                   sizeof(s_crlf) - 4) +
                      (count - 4) / 2 * 4;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(parts, i);
        if (!PyBytes_Check(item)) {
            PyErr_Format(PyExc_TypeError, "parts[%zd] must be bytes, not %.100s", i,
                         Py_TYPE(item)->tp_name);
            return NULL;
        }
        size += PyBytes_GET_SIZE(item);
    }
    PyObject *head = PyBytes_FromStringAndSize(NULL, size);
    if (head == NULL)
        return NULL;
    char *at = PyBytes_AS_STRING(head);
    for (Py_ssize_t i = 0; i < 4; i++) {
        PyObject *item = PyList_GET_ITEM(parts, i);
        at = put(at, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
    }
    for (Py_ssize_t i = 4; i < count; i += 2) {
        PyObject *name = PyList_GET_ITEM(parts, i);
        PyObject *value = PyList_GET_ITEM(parts, i + 1);
        at = put(at, PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name));
        *at++ = ':';
        *at++ = ' ';
        at = put(at, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
        *at++ = '\r';
        *at++ = '\n';
    }
    at = put(at, forwarded.data, forwarded.size);
    at = PUT_LITERAL(at, s_host);
    at = put(at, host.data, host.size);
    at = PUT_LITERAL(at, s_rid);
    at = put(at, request_id.data, request_id.size);
    at = PUT_LITERAL(at, s_start);
    at = put(at, digits, digit_size);
    at = PUT_LITERAL(at, s_crlf);
    at = put(at, tail.data, tail.size);
    return head;
}

PyDoc_STRVAR(line_version_doc,
             "line_version(data)\n--\n\n"
             "The version of the request line data starts with (see hotpath.line_version_py).");

static PyObject *
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

PyDoc_STRVAR(header_table_doc,
             "header_table(kinds)\n--\n\n"
             "kinds (lowercase header name: kind) in the form header_kind reads.");

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

static PyTypeObject HeaderTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "twelve.router._hotpath.HeaderTable",
    .tp_basicsize = sizeof(HeaderTable),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Header names and their kinds, as header_table made them for header_kind.",
    .tp_traverse = (traverseproc)HeaderTable_traverse,
    .tp_clear = (inquiry)HeaderTable_clear,
    .tp_dealloc = (destructor)HeaderTable_dealloc,
};

static PyObject *
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

PyDoc_STRVAR(header_kind_doc,
             "header_kind(name, table, default)\n--\n\n"
             "What the header_table says of a header name, whatever its case, else default.");

static PyObject *
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

static const piece response_hop_by_hop[] = {
    {"connection", 10}, {"keep-alive", 10}, {"proxy-connection", 16}, {"te", 2},
    {"trailer", 7},     {"transfer-encoding", 17}, {"upgrade", 7},
};

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

PyDoc_STRVAR(plain_response_doc,
             "plain_response(data)\n--\n\n"
             "(status, where the response ends) of a plain HTTP/1.0 or HTTP/1.1 response that "
             "data starts with, or None (see hotpath.plain_response_py).");

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

static PyObject *
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

static PyMethodDef methods[] = {
    {"plain_response", (PyCFunction)plain_response, METH_O, plain_response_doc},
    {"line_version", (PyCFunction)line_version, METH_O, line_version_doc},
    {"header_table", (PyCFunction)header_table, METH_O, header_table_doc},
    {"header_kind", (PyCFunction)(void (*)(void))header_kind, METH_FASTCALL, header_kind_doc},
    {"access_line", (PyCFunction)(void (*)(void))access_line, METH_FASTCALL, access_line_doc},
    {"upstream_head", (PyCFunction)(void (*)(void))upstream_head, METH_FASTCALL,
     upstream_head_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "twelve.router._hotpath",
    "The router's per-request byte work in C (the compiled build of hotpath.py).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__hotpath(void)
{
    if (PyType_Ready(&HeaderTableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m != NULL && PyModule_AddObjectRef(m, "HeaderTable", (PyObject *)&HeaderTableType) < 0)
        Py_CLEAR(m);
    return m;
}
