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
    void add_function(uint32_t type) { add_function(type, {0x00}); }
    // A function of this type with these instructions (no locals; `end` added).
    void add_function(uint32_t type, const Bytes& code) {
        leb(type, functions);
        Bytes body{0};
        body.insert(body.end(), code.begin(), code.end());
        body.push_back(0x0b);
        leb(body.size(), other_bodies);
        other_bodies.insert(other_bodies.end(), body.begin(), body.end());
        ++function_count;
    }
    // A function of type 0 whose body declares `entries` locals entries of count 0 (valid, and
    // each one a record in wabt's decoded module).
    void add_function_with_local_entries(uint32_t entries) {
        leb(0, functions);
        Bytes body;
        leb(entries, body);
        for (uint32_t i = 0; i < entries; ++i) body.insert(body.end(), {0x00, 0x7f});
        body.push_back(0x0b);
        leb(body.size(), other_bodies);
        other_bodies.insert(other_bodies.end(), body.begin(), body.end());
        ++function_count;
    }
    std::vector<uint32_t> tables;  // funcref tables' initial sizes, no maximum
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
        if (!tables.empty()) {
            Bytes t;
            for (uint32_t initial : tables) {
                t.insert(t.end(), {0x70, 0x00});
                leb(initial, t);
            }
            section(4, vec(tables.size(), t), m);
        }
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

Bytes repeated(const Bytes& instruction, uint64_t times) {
    Bytes out;
    for (uint64_t i = 0; i < times; ++i) out.insert(out.end(), instruction.begin(), instruction.end());
    return out;
}

// Type checks the validator makes against long signatures, before any deadline applies (a red
// team: 1M `return` from a function of 1000 results took 6.5 s of CPU from a 1 MB module; 1M
// `br_if` to a block of 1000 results 18 s from 4 MB, past the timeout and SIGTERM).
TEST_F(DecodeAmplificationTest, ValuesCheckedByReturnsBranchesAndCallsAreBounded) {
    const uint64_t per = 1000 - limits::kFreeCheckedValuesPerInstruction;
    const uint64_t over = limits::kMaxCheckedSignatureValues / per + 1;
    ModuleBuilder returns;
    uint32_t type = returns.add_type(0, 1000);
    Bytes code{0x00};  // unreachable: the stack is anything from here
    for (Bytes more = repeated({0x0f}, over); uint8_t b : more) code.push_back(b);  // return
    returns.add_function(type, code);
    expect_refused(returns.build(), "signature values type-checked");

    ModuleBuilder branches;
    type = branches.add_type(0, 1000);
    code = {0x02, static_cast<uint8_t>(type), 0x00};  // block (type: -> 1000 i32) unreachable
    for (Bytes more = repeated({0x41, 0x00, 0x0d, 0x00}, over); uint8_t b : more) code.push_back(b);  // br_if 0
    code.push_back(0x0b);
    branches.add_function(type, code);
    expect_refused(branches.build(), "signature values type-checked");

    ModuleBuilder calls;
    type = calls.add_type(1000, 0);
    calls.add_function(type);  // function 1
    code = {0x00};
    for (Bytes more = repeated({0x10, 0x01}, over); uint8_t b : more) code.push_back(b);  // call 1
    calls.add_function(calls.add_type(0, 0), code);
    expect_refused(calls.build(), "signature values type-checked");

    ModuleBuilder at_limit;
    type = at_limit.add_type(0, 1000);
    code = {0x00};
    for (Bytes more = repeated({0x0f}, over - 1); uint8_t b : more) code.push_back(b);
    at_limit.add_function(type, code);
    expect_runs(at_limit.build());
}

// Each table instruction became a host function of its own, made again for every run: 2.6M of
// them in a 15 MB module took 1 GB of host memory and 4.4 s under --timeout 1s.
// The decoder walks the labels up to each branch's target: 50k blocks and 400k `br 49999` took
// 22 s of CPU before any deadline, and 1M `br_table` targets 100k levels out 126 s (red team,
// 2026-12-05). The steps are summed; branching close, as real code does, costs one each.
TEST_F(DecodeAmplificationTest, LabelsWalkedByBranchesAreBounded) {
    constexpr uint32_t kDepth = 10000;
    auto branches = [&](uint64_t count, uint32_t target) {
        ModuleBuilder m;
        for (uint32_t i = 0; i < kDepth; ++i) m.start_body.insert(m.start_body.end(), {0x02, 0x40});
        Bytes br{0x0c};
        leb(target, br);
        for (uint64_t i = 0; i < count; ++i) m.start_body.insert(m.start_body.end(), br.begin(), br.end());
        m.start_body.insert(m.start_body.end(), kDepth, 0x0b);
        return m.build();
    };
    const uint64_t over = limits::kMaxBranchLabelSteps / kDepth + 1;
    expect_refused(branches(over, kDepth - 1), "label steps walked by branches");
    expect_runs(branches(over, 0));  // as many branches, each one level out
}

// Local declarations are records of a count and a type, zero counts valid: 8M of count 0 took
// 665 MB of the host from a 16 MB module (red team, 2026-12-05).
TEST_F(DecodeAmplificationTest, LocalDeclarationsAreBounded) {
    ModuleBuilder one;
    one.add_function_with_local_entries(limits::kMaxLocalsPerFunction + 1);
    expect_refused(one.build(), "local declarations in one function");
    ModuleBuilder all;
    for (uint64_t n = 0; n <= limits::kMaxLocalDeclarations; n += limits::kMaxLocalsPerFunction) {
        all.add_function_with_local_entries(limits::kMaxLocalsPerFunction);
    }
    expect_refused(all.build(), "local declarations in all");
    ModuleBuilder fits;
    fits.add_function_with_local_entries(limits::kMaxLocalsPerFunction);
    expect_runs(fits.build());
}

TEST_F(DecodeAmplificationTest, TableInstructionsAreBounded) {
    auto with = [](uint64_t n) {
        ModuleBuilder m;
        m.tables = {1};
        m.add_passive_segment(1);
        Bytes code{0x00};
        for (Bytes more = repeated({0xfc, 0x0c, 0x00, 0x00}, n); uint8_t b : more) code.push_back(b);  // table.init 0 0
        m.add_function(m.add_type(0, 0), code);
        return m.build();
    };
    expect_refused(with(limits::kMaxTableInstructions + 1), "table.init, table.copy and table.fill instructions");
    expect_runs(with(limits::kMaxTableInstructions));
}

// All tables together hold at most kMaxTableElements references, at the start and grown (100
// tables of 2^20 each took 829 MB from a 540-byte module): two tables without a maximum share
// the room, half each.
TEST_F(DecodeAmplificationTest, ReferencesInAllTablesTogetherAreBounded) {
    const uint32_t half = limits::kMaxTableElements / 2;
    ModuleBuilder over;
    over.tables = {half + 1, half};
    expect_refused(over.build(), "tables start with");

    auto sleb = [](uint32_t v) {  // positive, below 2^27
        Bytes out;
        leb(v, out);
        if (out.back() & 0x40) out.push_back(0);
        return out;
    };
    ModuleBuilder grows;
    grows.tables = {0, 0};
    // table.grow 0 by half must succeed, table.grow 1 by half + 1 must fail (-1): else unreachable.
    Bytes& b = grows.start_body;
    b.insert(b.end(), {0xd0, 0x70, 0x41});
    for (uint8_t x : sleb(half)) b.push_back(x);
    b.insert(b.end(), {0xfc, 0x0f, 0x00, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00, 0x0b});
    b.insert(b.end(), {0xd0, 0x70, 0x41});
    for (uint8_t x : sleb(half + 1)) b.push_back(x);
    b.insert(b.end(), {0xfc, 0x0f, 0x01, 0x41, 0x7f, 0x47, 0x04, 0x40, 0x00, 0x0b});
    expect_runs(grows.build());
}

}  // namespace
}  // namespace wasmtest
