#include "rtfs/printer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cmath>
#include <optional>
#include <string_view>

#include "rtfs/function.hpp"
#include "rtfs/interpreter.hpp"
#include "text_build.hpp"

namespace rtfs {

// The shortest text that reads back to d (to_chars), in fixed notation when the decimal
// exponent lies in [kFixedMinExponent, kFixedMaxExponent) ("100000.0", "0.00001"), else in
// exponent form ("1.0e300", "1.0e-6"); always with a "." so that a float reads back as a
// float. JavaScript's rule, but that JavaScript keeps 1e-6 fixed, and that an integral value
// prints with all its exact digits (2^64 is 18446744073709551616.0, JavaScript pads its
// shortest digits with zeros: 18446744073709552000).
std::string format_float(double d) {
    if (std::isnan(d)) return "##NaN";
    if (std::isinf(d)) return d > 0 ? "##Inf" : "##-Inf";
    constexpr int kFixedMinExponent = -5, kFixedMaxExponent = 21;
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    (void)ec;
    // "-1.2345e+05": mantissa "-1.2345", exponent 5 (of the first digit).
    const std::string_view sci(buf, static_cast<size_t>(end - buf));
    const size_t e = sci.find('e');
    int exp = 0;
    std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
    if (exp >= kFixedMinExponent && exp < kFixedMaxExponent) {
        char fixed[64];  // at most 21 digits before the point, 22 after
        auto [fend, fec] = std::to_chars(fixed, fixed + sizeof fixed, d, std::chars_format::fixed);
        (void)fec;
        std::string out(fixed, fend);
        if (out.find('.') == std::string::npos) out += ".0";
        return out;
    }
    std::string out(sci.substr(0, e));
    if (out.find('.') == std::string::npos) out += ".0";
    return out + "e" + std::to_string(exp);
}

namespace {

// One print: where it goes (or, with no output, only how long it is), where it must stop, and
// why it stopped.
struct Printer {
    std::string* out;  // null: count the bytes only (len), as display_text's first pass does
    size_t max_bytes;
    bool partial = false;  // what does not fit is cut at max_bytes rather than left out
    bool poll = false;     // poll the evaluation's limits once per value printed
    size_t len = out ? out->size() : 0;  // bytes in out, or counted
    PrintOutcome outcome = PrintOutcome::Complete;
    std::optional<Error> interrupted{};  // poll_limits' error, which stopped the print

    bool stopped() const { return outcome != PrintOutcome::Complete || interrupted; }
    // False (and stopped) when n more bytes would take the output past max_bytes.
    bool room_for(size_t n) {
        if (stopped()) return false;
        if (n > max_bytes || len > max_bytes - n) outcome = PrintOutcome::TooLong;
        return !stopped();
    }
    void add(std::string_view s) {
        len += s.size();
        if (out) *out += s;
    }
    void put(std::string_view s) {
        if (room_for(s.size()))
            add(s);
        else if (partial && len < max_bytes)
            add(s.substr(0, max_bytes - len));
    }
    void put(char c) {
        if (room_for(1)) add(std::string_view(&c, 1));
    }
    void string(const std::string& s);
    void items(std::span<const Value> items, std::string_view open, char close, uint32_t level);
    void value(const Value& v, uint32_t level);
};

bool needs_escape(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
}

void Printer::string(const std::string& s) {
    // The exact escaped size first: a string of control characters grows sixfold.
    size_t n = 2;
    for (char c : s) n += !needs_escape(c) ? 1 : (c == '"' || c == '\\' || c == '\n' ||
                                                  c == '\t' || c == '\r') ? 2 : 6;
    if (!room_for(n) && !partial) return;
    if (!out) {  // counting: a partial print always has an output
        len += n;
        return;
    }
    std::string& o = *out;
    const bool cut = stopped();
    o += '"';
    for (char c : s) {
        if (cut && o.size() >= max_bytes) {
            o.resize(max_bytes);  // may split an escape: the text is marked as cut anyway
            len = o.size();
            return;
        }
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\t': o += "\\t"; break;
            case '\r': o += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {  // NUL too: the reader has no \0
                    static const char* hex = "0123456789abcdef";
                    o += "\\u00";
                    o += hex[(c >> 4) & 0xF];
                    o += hex[c & 0xF];
                } else {
                    o += c;
                }
        }
    }
    if (!cut) o += '"';
    len = o.size();
}

void Printer::items(std::span<const Value> items, std::string_view open, char close,
                    uint32_t level) {
    put(open);
    bool first = true;
    for (const auto& x : items) {
        if (stopped()) return;
        if (!first) put(' ');
        first = false;
        value(x, level + 1);
    }
    put(close);
}

void Printer::value(const Value& v, uint32_t level) {
    if (stopped()) return;
    if (poll) {
        if (auto limits = poll_limits(); !limits) {
            interrupted = limits.error();
            return;
        }
    }
    switch (v.type()) {
        case Type::Nil: put("nil"); return;
        case Type::Bool: put(v.as_bool() ? "true" : "false"); return;
        case Type::Int: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
            (void)ec;
            put(std::string_view(buf, static_cast<size_t>(end - buf)));
            return;
        }
        case Type::Float: put(format_float(v.as_float())); return;
        case Type::String: string(v.str()); return;
        case Type::Keyword:
            put(':');
            put(v.str());
            return;
        case Type::Symbol: put(v.str()); return;
        default: break;
    }
    const bool collection = v.is_seq() || v.is(Type::Set) || v.is(Type::Map);
    if (collection && level >= kMaxValueDepth) {
        outcome = PrintOutcome::TooDeep;
        return;
    }
    switch (v.type()) {
        case Type::List: items(v.items(), "(", ')', level); return;
        case Type::Vector: items(v.items(), "[", ']', level); return;
        case Type::Set: items(v.items(), "#{", '}', level); return;
        case Type::Map: {
            put('{');
            bool first = true;
            for (const auto& [k, x] : v.map().entries()) {
                if (stopped()) return;
                if (!first) put(' ');
                first = false;
                value(k, level + 1);
                put(' ');
                value(x, level + 1);
            }
            put('}');
            return;
        }
        case Type::Function:
            put("#<function ");
            put(v.fn().name().empty() ? "anonymous" : v.fn().name());
            put('>');
            return;
        case Type::Builtin:
            put("#<function ");
            put(v.as_builtin()->name);
            put('>');
            return;
        case Type::Error:
            put("#<error ");
            put(to_string(v.err().kind));
            put(": ");
            put(v.err().message);
            put('>');
            return;
        case Type::Recur: put("#<recur>"); return;
        default: return;
    }
}

// The capped forms: whatever did not fit, or lies too deep, is shown as "...".
void print_capped(std::string& out, const Value& v, size_t max_bytes) {
    Printer p{&out, max_bytes, true};
    p.value(v, 0);
    if (p.stopped()) out += "...";
}

}  // namespace

namespace {

// Prints v into out (or, out null, counts its length into len) within max_bytes, polling the
// evaluation's limits.
Expected<PrintOutcome, Error> print_polled(std::string* out, size_t& len, const Value& v,
                                           size_t max_bytes, bool display) {
    Printer p{out, max_bytes};
    p.len = len;
    p.poll = true;
    if (display && v.is(Type::String))
        p.put(v.str());
    else
        p.value(v, 0);
    len = p.len;
    if (p.interrupted) return unexpected(std::move(*p.interrupted));
    return p.outcome;
}

}  // namespace

Expected<PrintOutcome, Error> print_bounded(std::string& out, const Value& v, size_t max_bytes, bool display) {
    size_t len = out.size();
    return print_polled(&out, len, v, max_bytes, display);
}

namespace {

// Prints values (display forms) joined by sep, then tail, into out (null: counts only) within
// max_bytes; len is what out holds, or what was counted.
Expected<PrintOutcome, Error> print_joined(std::string* out, size_t& len,
                                           std::span<const Value> values, std::string_view sep,
                                           std::string_view tail, size_t max_bytes) {
    auto put = [&](std::string_view s) {
        if (s.size() > max_bytes - len) return false;
        len += s.size();
        if (out) *out += s;
        return true;
    };
    for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0 && !put(sep)) return PrintOutcome::TooLong;
        RTFS_TRY(PrintOutcome o, print_polled(out, len, values[i], max_bytes, true));
        if (o != PrintOutcome::Complete) return o;
    }
    return put(tail) ? PrintOutcome::Complete : PrintOutcome::TooLong;
}

}  // namespace

Result<std::string> display_text(std::string_view op, std::span<const Value> values,
                                 std::string_view sep, std::string_view tail) {
    const size_t room = alloc_room();
    const size_t budget = room > sizeof(StrObj) ? room - sizeof(StrObj) : 0;
    auto write = [&](std::string* out, size_t max) -> Result<std::optional<size_t>> {
        size_t len = 0;
        RTFS_TRY(PrintOutcome o, print_joined(out, len, values, sep, tail, max));
        if (o == PrintOutcome::TooDeep) return unexpected(print_error(o, op, budget));
        if (o == PrintOutcome::TooLong) return std::optional<size_t>();
        return std::optional<size_t>(len);
    };
    auto too_long = [&] { return print_error(PrintOutcome::TooLong, op, budget); };
    // Charged while it is built; the string value made of it charges itself.
    auto admit = [](size_t n) -> Result<size_t> { return n; };
    return build_text(budget, write, too_long, admit);
}

Error print_error(PrintOutcome outcome, std::string_view op, size_t max_bytes) {
    if (outcome == PrintOutcome::TooDeep)
        return Error(ErrorKind::RecursionLimit,
                     "Recursion limit: " + std::string(op) + " cannot print a value nested more than " +
                         std::to_string(kMaxValueDepth) + " levels deep");
    return Error(ErrorKind::ResourceLimit, "Memory limit exceeded: the text " + std::string(op) +
                                               " builds does not fit in the " +
                                               std::to_string(max_bytes) + " bytes left");
}

std::string print(const Value& v) {
    std::string out;
    print_capped(out, v, kMessageValueBytes);
    return out;
}

std::string print(const Value& v, size_t max_bytes) {
    std::string out;
    print_capped(out, v, max_bytes);
    return out;
}

std::string to_display(const Value& v) {
    if (v.is(Type::String)) return v.str();
    return print(v);
}

std::string bounded_message(std::string message, size_t max_bytes, std::string_view why) {
    if (message.size() <= max_bytes) return message;
    size_t keep = max_bytes;
    while (keep > 0 && (static_cast<unsigned char>(message[keep]) & 0xC0) == 0x80) --keep;
    const size_t cut = message.size() - keep;
    message.resize(keep);
    message += "... [" + std::to_string(cut) + " more bytes cut";
    message += why;
    message += "]";
    return message;
}

}  // namespace rtfs
