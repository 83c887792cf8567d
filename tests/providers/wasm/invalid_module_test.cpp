// Bad modules get invalid_input with the reason; hostile bytes never crash or hang the host.
#include <random>

#include "engine_limits.hpp"
#include "test_support.hpp"
#include "wat_to_binary.hpp"

namespace wasmtest {
namespace {

using microvm::Status;

// A binary module with one function: locals_decl (the encoded local declarations) and body.
std::vector<uint8_t> binary_module(const std::vector<uint8_t>& locals_decl,
                                   const std::vector<uint8_t>& body) {
    auto leb = [](uint64_t v) {
        std::vector<uint8_t> out;
        do {
            uint8_t b = v & 0x7f;
            v >>= 7;
            out.push_back(b | (v ? 0x80 : 0));
        } while (v);
        return out;
    };
    auto section = [&](uint8_t id, const std::vector<uint8_t>& content) {
        std::vector<uint8_t> s{id};
        auto size = leb(content.size());
        s.insert(s.end(), size.begin(), size.end());
        s.insert(s.end(), content.begin(), content.end());
        return s;
    };
    std::vector<uint8_t> code = locals_decl;
    code.insert(code.end(), body.begin(), body.end());
    code.push_back(0x0b);
    std::vector<uint8_t> code_entry = leb(code.size());
    code_entry.insert(code_entry.end(), code.begin(), code.end());
    std::vector<uint8_t> code_section{1};
    code_section.insert(code_section.end(), code_entry.begin(), code_entry.end());

    std::vector<uint8_t> m{0, 'a', 's', 'm', 1, 0, 0, 0};
    for (auto s :
         {section(1, {1, 0x60, 0, 0}), section(3, {1, 0}),
          section(7, {1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0}), section(10, code_section)}) {
        m.insert(m.end(), s.begin(), s.end());
    }
    return m;
}

TEST_F(WasmTest, MalformedModulesAreInvalidInput) {
    for (const std::string& text :
         {std::string("(module (func (export \"_start\") (i32.add)))"),  // type error
          std::string("(module (func"), std::string("not a module at all"),
          std::string("\0asm\x01\0\0\0\x05", 9)}) {
        auto r = run(context(bytes_of(text)));
        EXPECT_EQ(r.status, Status::InvalidInput) << text << ": " << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->reason, microvm::Reason::InvalidProgram);
        EXPECT_FALSE(r.error->message.empty());
    }
    auto r = run(context({}));
    EXPECT_EQ(r.status, Status::InvalidInput);
}

TEST_F(WasmTest, ValidationMessageNamesTheProblem) {
    auto r = run(context(bytes_of("(module (func (export \"_start\") (i32.add)))")));
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("type mismatch"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, UnknownImportIsInvalidInputNamingIt) {
    auto r = run(context(fixture("unknown_import.wat")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("env.launch_missiles"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, WasiImportWithTheWrongTypeIsInvalidInput) {
    auto r = run(context(bytes_of(R"((module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
        (func (export "_start"))))")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("wasi_snapshot_preview1.fd_write"), std::string::npos);
}

TEST_F(WasmTest, ModuleWithoutStartIsInvalidInput) {
    auto r = run(context(fixture("no_start.wat")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("_start"), std::string::npos);
}

TEST_F(WasmTest, TruncatedBinariesNeverCrash) {
    std::vector<uint8_t> good = binary_fixture("fs_ops.wat");
    ASSERT_GT(good.size(), 100u);
    int runnable = 0;  // a prefix ending exactly before the data section is a valid module
    for (size_t n = 0; n < good.size(); ++n) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
        auto r = run(context(cut));
        if (r.status != Status::InvalidInput) {
            ++runnable;
            EXPECT_EQ(r.status, Status::RuntimeError) << "prefix " << n << ": " << describe(r);
        }
    }
    EXPECT_LE(runnable, 1);
}

TEST_F(WasmTest, RandomlyCorruptedBinariesNeverCrashOrHang) {
    std::vector<uint8_t> good = binary_fixture("fs_ops.wat");
    std::mt19937 rng(1234);
    for (int i = 0; i < 1500; ++i) {
        std::vector<uint8_t> bad = good;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            bad[8 + rng() % (bad.size() - 8)] = static_cast<uint8_t>(rng());
        }
        auto ctx = context(bad, {"r", "x"});
        ctx.config.timeout = std::chrono::milliseconds(500);
        auto r = run(ctx);  // any status is fine; crashing or hanging is not
        EXPECT_NE(r.status, microvm::Status::SetupError) << describe(r);
    }
}

TEST_F(WasmTest, RandomBytesNeverCrash) {
    std::mt19937 rng(99);
    for (int i = 0; i < 300; ++i) {
        std::vector<uint8_t> junk(1 + rng() % 512);
        for (auto& b : junk) b = static_cast<uint8_t>(rng());
        if (i % 2) junk.insert(junk.begin(), {0, 'a', 's', 'm', 1, 0, 0, 0});
        EXPECT_EQ(run(context(junk)).status, Status::InvalidInput);
    }
}

TEST_F(WasmTest, DeeplyNestedWatIsRefusedBeforeParsing) {
    std::string text = "(module (func (export \"_start\")";
    for (int i = 0; i < 100000; ++i) text += " (block";
    text += std::string(100000, ')') + "))";
    auto r = run(context(bytes_of(text)));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("nests"), std::string::npos) << r.error->message;
    std::string flat = "(module (func (export \"_start\")";
    for (int i = 0; i < 100000; ++i) flat += " block";
    for (int i = 0; i < 100000; ++i) flat += " end";
    EXPECT_EQ(run(context(bytes_of(flat + "))"))).status, Status::InvalidInput);
}

// WAT text is judged before wabt's parser builds its IR (tens to hundreds of host bytes a token,
// before any deadline): 2.7M `(func)` in 16 MB took 1.58 GB and 31 s before the binary's counts
// refused it (red team, 2026-12-05). Declarations are counted as the binary's are, and tokens are
// bounded.
TEST_F(WasmTest, ATextModuleIsBoundedBeforeItIsParsed) {
    std::string funcs = "(module";
    for (int i = 0; i < 200001; ++i) funcs += "(func)";
    auto r = run(context(bytes_of(funcs + ")")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("WAT module declares 200001 funcs"), std::string::npos) << r.error->message;

    // A module field's uses of a type or function are not declarations: one type used 200,001
    // times is one type. Only the fields themselves are counted.
    std::string uses = "(module (type $t (func)) (table 1 funcref) (func (export \"_start\")";
    for (int i = 0; i < 200001; ++i) uses += " i32.const 0 call_indirect (type $t)";
    r = run(context(bytes_of(uses + " unreachable))")));
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);  // the trap of the null entry

    // A module embedded in binary or quote form: wabt decodes or parses it unseen by the scan.
    r = run(context(bytes_of("(module binary \"\\00asm\\01\\00\\00\\00\")")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("binary or quote form"), std::string::npos) << r.error->message;
    r = run(context(bytes_of("(module $m quote \"(func)\")")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("binary or quote form"), std::string::npos) << r.error->message;

    std::string nops = "(module (func (export \"_start\")";
    for (int i = 0; i < (2 << 20); ++i) nops += " nop";
    r = run(context(bytes_of(nops + "))")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("tokens"), std::string::npos) << r.error->message;
}

// Text is validated as a binary is, after the engine's counting pass: wabt's own validation of
// the text type-checked 2.3M `return`s of a 1000-result function (6.6 s) before the count that
// bounds them was seen (red team, 2026-12-05). Here the counted limit must be what refuses the
// module, not the type error wabt's validator would have found first.
TEST_F(WasmTest, ATextModuleIsCountedBeforeItIsValidated) {
    std::string results;
    for (int i = 0; i < 1000; ++i) results += " i32";
    std::string text = "(module (func (result" + results + ") unreachable";
    for (int i = 0; i < 4300; ++i) text += " return";
    text += ") (func (result i32) (i64.const 0)))";  // a type error
    auto r = run(context(bytes_of(text)));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("signature values"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, DeeplyNestedBinaryRunsWithoutExhaustingTheHostStack) {
    std::vector<uint8_t> body;
    // As deep as the engine accepts (deeper is refused: decode_amplification_test.cpp).
    const uint32_t depth = microvm::wasm::limits::kMaxBlockNesting;
    for (uint32_t i = 0; i < depth; ++i) body.insert(body.end(), {0x02, 0x40});  // block
    body.insert(body.end(), depth, 0x0b);                                        // end
    auto r = run(context(binary_module({0}, body)));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
}

TEST_F(WasmTest, HugeLocalCountsAreRefused) {
    // 0x0fffffff i32 locals: valid for wabt, 4 GiB of interpreter stack per call.
    auto r = run(context(binary_module({1, 0xff, 0xff, 0xff, 0x7f, 0x7f}, {})));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("locals"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, HugeDeclaredCountsAreRefusedBeforeDecoding) {
    // 300 000 empty functions: 1.2 MB of bytes, but tens of MB of decoded descriptors.
    const uint32_t n = 300000;
    auto leb = [](uint32_t v, std::vector<uint8_t>& out) {
        do {
            out.push_back(static_cast<uint8_t>((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
            v >>= 7;
        } while (v);
    };
    std::vector<uint8_t> funcs, code;
    leb(n, funcs);
    funcs.insert(funcs.end(), n, 0);
    leb(n, code);
    for (uint32_t i = 0; i < n; ++i) code.insert(code.end(), {2, 0, 0x0b});
    std::vector<uint8_t> m{0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0};
    for (auto [id, content] : {std::pair{uint8_t{3}, funcs}, std::pair{uint8_t{10}, code}}) {
        m.push_back(id);
        leb(static_cast<uint32_t>(content.size()), m);
        m.insert(m.end(), content.begin(), content.end());
    }
    auto r = run(context(m));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("300000 functions"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, HugeTablesAreRefused) {
    auto r =
        run(context(bytes_of("(module (table 100000000 funcref) (func (export \"_start\")))")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_NE(r.error->message.find("table"), std::string::npos) << r.error->message;
}

TEST_F(WasmTest, TableGrowthIsCapped) {
    auto r = run(context(bytes_of(R"((module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (table $t 1 funcref)
        (func (export "_start")
          (call $exit (i32.eq (table.grow $t (ref.null func) (i32.const 100000000))
                              (i32.const -1))))))")));
    EXPECT_EQ(r.metadata.exit_code, 1) << describe(r);  // the grow returned -1
}

}  // namespace
}  // namespace wasmtest

namespace wasmtest {
namespace {

// The binary of a text module with every section of id `removed` taken out.
std::vector<uint8_t> binary_without_section(const std::string& wat, uint8_t removed) {
    auto binary = microvm::wasm::wat_to_binary(bytes_of(wat));
    EXPECT_TRUE(binary) << wat;
    if (!binary) return {};
    const std::vector<uint8_t>& in = *binary;
    std::vector<uint8_t> out(in.begin(), in.begin() + 8);
    for (size_t at = 8; at < in.size();) {
        const uint8_t id = in[at];
        size_t size = 0, shift = 0, p = at + 1;
        for (uint8_t b = 0x80; b & 0x80; shift += 7) size |= static_cast<size_t>((b = in[p++]) & 0x7f) << shift;
        const size_t end = p + size;
        if (id != removed) out.insert(out.end(), in.begin() + static_cast<std::ptrdiff_t>(at), in.begin() + static_cast<std::ptrdiff_t>(end));
        at = end;
    }
    return out;
}

// A DataCount section without a Data section: wabt checks data segment indices against the
// DataCount alone, and compares it with the segments only when a Data section is there. In the
// host process, data.drop 0 wrote through an empty vector (SIGSEGV), and memory.init 0 called
// the engine's hook after the last (with a table hook there, whose missing result the rewrite's
// drop took: the guest's next value overwrote a heap chunk's header, and the host aborted in
// free). Red team, 2026-12-07.
TEST_F(WasmTest, DataSegmentInstructionsWithoutTheSegmentsAreInvalidInput) {
    const std::string memory_init = "(memory.init $d (i32.const 0) (i32.const 0) (i32.const 0))";
    for (const std::string& body :
         {std::string("(data.drop $d)"), memory_init,
          memory_init + " (drop (v128.const i64x2 0x4242424242424242 0x0000000000004141))"}) {
        const std::string wat =
            "(module (table $t 1 funcref) (memory 1) (data $d \"x\")"
            " (func $never (table.fill $t (i32.const 0) (ref.null func) (i32.const 0)))"
            " (func (export \"_start\") " + body + "))";
        // Whole, it runs.
        auto whole = run(context(bytes_of(wat)));
        EXPECT_EQ(whole.status, Status::Ok) << body << ": " << describe(whole);
        // Without its Data section (id 11), its DataCount (1) counts a segment that is not there.
        auto r = run(context(binary_without_section(wat, 11)));
        EXPECT_EQ(r.status, Status::InvalidInput) << body << ": " << describe(r);
        ASSERT_TRUE(r.error) << body;
        EXPECT_NE(r.error->message.find("DataCount"), std::string::npos) << r.error->message;
    }
}

}  // namespace
}  // namespace wasmtest
