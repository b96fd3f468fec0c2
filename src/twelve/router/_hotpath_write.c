/* The bytes the router writes for every request: the access line and the upstream head, each
 * straight into one buffer. */
#include "_hotpath.h"

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

PyObject *
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

PyObject *
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
