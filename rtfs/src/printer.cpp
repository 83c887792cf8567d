#include "rtfs/printer.hpp"

#include <charconv>
#include <cstdint>
#include <cmath>

#include "rtfs/function.hpp"

namespace rtfs {

std::string format_float(double d) {
    if (std::isnan(d)) return "##NaN";
    if (std::isinf(d)) return d > 0 ? "##Inf" : "##-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    (void)ec;
    std::string s(buf, end);
    // to_chars gives "1e+300" or "4": make it "1.0e300" / "4.0".
    size_t e = s.find('e');
    std::string mant = e == std::string::npos ? s : s.substr(0, e);
    std::string exp = e == std::string::npos ? "" : s.substr(e + 1);
    if (mant.find('.') == std::string::npos) mant += ".0";
    if (exp.empty()) return mant;
    if (exp[0] == '+') exp.erase(0, 1);
    const bool negative = !exp.empty() && exp[0] == '-';
    if (negative) exp.erase(0, 1);
    while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);  // "e-07" -> "e-7"
    if (negative) exp.insert(0, "-");
    return mant + "e" + exp;
}

// Set by print(v, max_bytes): printing stops once the output reaches it.
static thread_local size_t g_print_limit = SIZE_MAX;

static void print_string(std::string& out, const std::string& s) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            case '\0': out += "\\0"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static const char* hex = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[(c >> 4) & 0xF];
                    out += hex[c & 0xF];
                } else {
                    out += c;
                }
        }
    }
    out += '"';
}

static void print_items(std::string& out, const std::vector<Value>& items, char open, char close) {
    out += open;
    bool first = true;
    for (const auto& x : items) {
        if (out.size() >= g_print_limit) break;
        if (!first) out += ' ';
        first = false;
        print_to(out, x);
    }
    out += close;
}

// Nesting deeper than this prints as "..." rather than recursing further on the native stack.
constexpr int kMaxPrintDepth = 10000;

void print_to(std::string& out, const Value& v) {
    static thread_local int depth = 0;
    if (depth >= kMaxPrintDepth || out.size() >= g_print_limit) {
        if (!out.ends_with("...")) out += "...";
        return;
    }
    struct Enter {
        Enter() { ++depth; }
        ~Enter() { --depth; }
    } enter;
    switch (v.type()) {
        case Type::Nil: out += "nil"; return;
        case Type::Bool: out += v.as_bool() ? "true" : "false"; return;
        case Type::Int: {
            char buf[24];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
            (void)ec;
            out.append(buf, end);
            return;
        }
        case Type::Float: out += format_float(v.as_float()); return;
        case Type::String: print_string(out, v.str()); return;
        case Type::Keyword: out += ':'; out += v.str(); return;
        case Type::Symbol: out += v.str(); return;
        case Type::List: print_items(out, v.items(), '(', ')'); return;
        case Type::Vector: print_items(out, v.items(), '[', ']'); return;
        case Type::Set:
            out += '#';
            print_items(out, v.items(), '{', '}');
            return;
        case Type::Map: {
            out += '{';
            bool first = true;
            for (const auto& [k, x] : v.map().entries) {
                if (!first) out += ' ';
                first = false;
                print_to(out, k);
                out += ' ';
                print_to(out, x);
            }
            out += '}';
            return;
        }
        case Type::Function:
            out += "#<function ";
            out += v.fn().name().empty() ? "anonymous" : v.fn().name();
            out += '>';
            return;
        case Type::Builtin:
            out += "#<function ";
            out += v.as_builtin()->name;
            out += '>';
            return;
        case Type::Error:
            out += "#<error ";
            out += to_string(v.err().kind);
            out += ": ";
            out += v.err().message;
            out += '>';
            return;
        case Type::Recur: out += "#<recur>"; return;
    }
}

std::string print(const Value& v) {
    std::string out;
    print_to(out, v);
    return out;
}

std::string print(const Value& v, size_t max_bytes) {
    std::string out;
    const size_t saved = g_print_limit;
    g_print_limit = max_bytes;
    print_to(out, v);
    g_print_limit = saved;
    if (out.size() > max_bytes + 3) {
        out.resize(max_bytes);
        out += "...";
    }
    return out;
}

std::string to_display(const Value& v) {
    if (v.is(Type::String)) return v.str();
    return print(v);
}

}  // namespace rtfs
