// Small binary modules that would make wabt's decoder allocate far more than their size (the
// whole signature copied into every function, import and open block; element entries; labels)
// are refused before decoding, naming the limit; modules at the limits still run.
#include "engine_limits.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;
namespace limits = microvm::wasm::limits;
using Bytes = std::vector<uint8_t>;

void leb(uint64_t v, Bytes& out) {
    do {
        out.push_back(static_cast<uint8_t>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}

Bytes vec(uint64_t count, const Bytes& items) {
    Bytes out;
    leb(count, out);
    out.insert(out.end(), items.begin(), items.end());
    return out;
}

// Type 0 is [] -> [] (_start, function 0 after the imports); types are appended after it.
struct ModuleBuilder {
    Bytes types{0x60, 0, 0};
    uint32_t type_count = 1;
    Bytes imports;
    uint32_t import_count = 0;
    Bytes functions{0};  // _start's type
    uint32_t function_count = 1;
    Bytes start_body;
    Bytes other_bodies;
    Bytes elements;
    uint32_t element_count = 0;

    uint32_t add_type(uint32_t params, uint32_t results) {
        types.push_back(0x60);
        leb(params, types);
        types.insert(types.end(), params, 0x7f);  // i32
        leb(results, types);
        types.insert(types.end(), results, 0x7f);
        return type_count++;
    }
    void add_import(uint32_t type, uint32_t i) {
        std::string name = "f" + std::to_string(i);
        imports.insert(imports.end(), {1, 'm'});
        leb(name.size(), imports);
        imports.insert(imports.end(), name.begin(), name.end());
        imports.push_back(0);
        leb(type, imports);
        ++import_count;
    }
    // A function whose body is `unreachable`: valid whatever its type.
    void add_function(uint32_t type) {
        leb(type, functions);
        other_bodies.insert(other_bodies.end(), {3, 0, 0x00, 0x0b});
        ++function_count;
    }
    void add_passive_segment(uint32_t entries) {  // function 0, entries times
        elements.insert(elements.end(), {1, 0});
        leb(entries, elements);
        elements.insert(elements.end(), entries, 0);
        ++element_count;
    }

    static void section(uint8_t id, const Bytes& content, Bytes& m) {
        m.push_back(id);
        leb(content.size(), m);
        m.insert(m.end(), content.begin(), content.end());
    }
    Bytes build() const {
        Bytes m{0, 'a', 's', 'm', 1, 0, 0, 0};
        section(1, vec(type_count, types), m);
        if (import_count) section(2, vec(import_count, imports), m);
        section(3, vec(function_count, functions), m);
        Bytes exports{1, 6, '_', 's', 't', 'a', 'r', 't', 0};
        leb(import_count, exports);  // _start: the first function after the imports
        section(7, exports, m);
        if (element_count) section(9, vec(element_count, elements), m);
        Bytes start{0};  // no locals
        start.insert(start.end(), start_body.begin(), start_body.end());
        start.push_back(0x0b);
        Bytes code;
        leb(start.size(), code);
        code.insert(code.end(), start.begin(), start.end());
        code.insert(code.end(), other_bodies.begin(), other_bodies.end());
        section(10, vec(function_count, code), m);
        return m;
    }
};

class DecodeAmplificationTest : public WasmTest {
  protected:
    void expect_refused(const Bytes& module, const std::string& limit) {
        auto r = run(context(module));
        ASSERT_EQ(r.status, Status::InvalidInput) << describe(r);
        EXPECT_NE(r.error->message.find(limit), std::string::npos) << r.error->message;
        EXPECT_NE(r.error->message.find("the engine accepts at most"), std::string::npos)
            << r.error->message;
    }
    void expect_runs(const Bytes& module) {
        auto r = run(context(module));
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
    }
};

TEST_F(DecodeAmplificationTest, ParamsAndResultsOfOneTypeAreBounded) {
    ModuleBuilder params;
    params.add_type(limits::kMaxParamsPerType + 1, 0);
    expect_refused(params.build(), "1001 parameters in one function type");
    ModuleBuilder results;
    results.add_type(0, limits::kMaxResultsPerType + 1);
    expect_refused(results.build(), "1001 results in one function type");
}

// The red team's attack, scaled: one 1000-parameter type shared by many functions (or
// imports) would be copied into each of them.
TEST_F(DecodeAmplificationTest, SignatureValuesSummedOverFunctionsAndImportsAreBounded) {
    const uint32_t over = limits::kMaxSignatureValues / 1000 + 1;
    ModuleBuilder functions;
    uint32_t type = functions.add_type(1000, 0);
    for (uint32_t i = 0; i < over; ++i) functions.add_function(type);
    expect_refused(functions.build(), "parameters and results summed over all functions");

    ModuleBuilder imports;
    type = imports.add_type(1000, 0);
    for (uint32_t i = 0; i < over; ++i) imports.add_import(type, i);
    expect_refused(imports.build(), "parameters and results summed over all functions");
}

TEST_F(DecodeAmplificationTest, FunctionsAtTheSignatureLimitsRun) {
    ModuleBuilder m;
    uint32_t type = m.add_type(limits::kMaxParamsPerType, limits::kMaxResultsPerType);
    const uint32_t at_limit = limits::kMaxSignatureValues / 2000;
    for (uint32_t i = 0; i < at_limit; ++i) m.add_function(type);
    expect_runs(m.build());
}

TEST_F(DecodeAmplificationTest, ResultsPushedByCallsAreBounded) {
    ModuleBuilder m;
    uint32_t type = m.add_type(0, 1000);
    m.add_function(type);  // function 1
    for (uint64_t i = 0; i <= limits::kMaxExtraResults / 999; ++i) {
        m.start_body.insert(m.start_body.end(), {0x10, 1});  // call 1
    }
    expect_refused(m.build(), "results beyond the first");
}

TEST_F(DecodeAmplificationTest, BlockNestingIsBounded) {
    auto nested = [](uint32_t depth) {
        ModuleBuilder m;
        for (uint32_t i = 0; i < depth; ++i) m.start_body.insert(m.start_body.end(), {0x02, 0x40});
        m.start_body.insert(m.start_body.end(), depth, 0x0b);
        return m.build();
    };
    expect_refused(nested(limits::kMaxBlockNesting + 1), "nested blocks");
    expect_runs(nested(limits::kMaxBlockNesting));
}

// Typed blocks: the validator copies each open block's signature.
TEST_F(DecodeAmplificationTest, SignaturesOfOpenBlocksAreBounded) {
    ModuleBuilder m;
    uint32_t type = m.add_type(0, 1000);
    const uint64_t depth = limits::kMaxOpenBlockSignatureValues / 1000 + 1;
    for (uint64_t i = 0; i < depth; ++i) {
        m.start_body.insert(m.start_body.end(), {0x02, static_cast<uint8_t>(type)});
    }
    expect_refused(m.build(), "open nested blocks");
}

TEST_F(DecodeAmplificationTest, ElementEntriesOfAllSegmentsAreBounded) {
    const uint32_t half = limits::kMaxElementEntries / 2;
    ModuleBuilder over;
    for (int i = 0; i < 3; ++i) over.add_passive_segment(half);
    expect_refused(over.build(), "elements in all element segments");
    ModuleBuilder at;
    for (int i = 0; i < 2; ++i) at.add_passive_segment(half);
    expect_runs(at.build());
}

}  // namespace
}  // namespace wasmtest
