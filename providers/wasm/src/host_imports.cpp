#include "host_imports.hpp"

#include <string>

#include "microvm_imports.hpp"
#include "unfilled_memory.hpp"
#include "wasi.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;

wi::FuncType func_type(std::string_view params, bool errno_result = true) {
    wi::ValueTypes types;
    for (char c : params) types.push_back(c == 'I' ? wabt::Type::I64 : wabt::Type::I32);
    return wi::FuncType(types, errno_result ? wi::ValueTypes{wabt::Type::I32} : wi::ValueTypes{});
}

std::string describe(const wi::FuncType& t) {
    auto list = [](const wi::ValueTypes& types) {
        std::string s = "(";
        for (size_t i = 0; i < types.size(); ++i) s += (i ? ", " : "") + wi::GetName(types[i]);
        return s + ")";
    };
    return list(t.params) + " -> " + list(t.results);
}

std::string import_name(const wi::ImportType& t) {
    return t.module + "." + t.name;
}

// A host call that returns after the deadline (a sleep, a slow request) ends the run right
// there, before the module can act on the result.
wi::Ref bind(wi::Store& store, RunState& state, const HostFunction& f) {
    wi::HostFunc::Callback cb = [&state, handler = f.handler](
                                    wi::Thread& thread, const wi::Values& params,
                                    wi::Values& results, wi::Trap::Ptr* trap) {
        results[0] = wi::Value::Make(handler(state, params));
        state.pace();  // a host call's work counts against the CPU share at once
        if (state.cancel_requested()) {
            state.cancelled = true;
            *trap = wi::Trap::New(thread.store(), "cancelled");
            return wabt::Result::Error;
        }
        if (state.past_deadline()) {
            state.timed_out = true;
            *trap = wi::Trap::New(thread.store(), "timeout");
            return wabt::Result::Error;
        }
        return wabt::Result::Ok;
    };
    return wi::HostFunc::New(store, func_type(f.params), std::move(cb)).ref();
}

// proc_exit ends the run: it records the code and unwinds the interpreter with a trap the
// engine recognizes by state.exit_code.
wi::Ref bind_proc_exit(wi::Store& store, RunState& state) {
    wi::HostFunc::Callback cb = [&state](wi::Thread& thread, const wi::Values& params, wi::Values&,
                                         wi::Trap::Ptr* trap) {
        state.exit_code = params[0].Get<uint32_t>();
        *trap = wi::Trap::New(thread.store(), "proc_exit");
        return wabt::Result::Error;
    };
    return wi::HostFunc::New(store, func_type("i", false), std::move(cb)).ref();
}

wi::Ref bind_enosys(wi::Store& store, const wi::FuncType& declared) {
    wi::HostFunc::Callback cb = [](wi::Thread&, const wi::Values&, wi::Values& results,
                                   wi::Trap::Ptr*) {
        results[0] = wi::Value::Make(uint32_t{wasi::kNosys});
        return wabt::Result::Ok;
    };
    return wi::HostFunc::New(store, declared, std::move(cb)).ref();
}

Expected<wi::Ref> bind_one(wi::Store& store, const wi::ImportType& import, RunState& state) {
    auto refuse = [&](std::string why) {
        return fail(Failure::Kind::InvalidInput,
                    "the module imports " + import_name(import) + ", " + std::move(why));
    };
    const auto* declared = wabt::dyn_cast<wi::FuncType>(import.type.get());
    if (!declared) {
        return refuse(std::string("a ") + wi::GetName(import.type->kind) +
                      "; the wasm provider offers functions only");
    }
    auto check = [&](const wi::FuncType& offered) -> Expected<void> {
        if (declared->params == offered.params && declared->results == offered.results) {
            return Ok{};
        }
        return refuse("with type " + describe(*declared) + ", but the engine's has type " +
                      describe(offered));
    };
    if (import.module == kWasiModule) {
        if (import.name == "proc_exit") {
            RTFS_CHECK(check(func_type("i", false)));
            return bind_proc_exit(store, state);
        }
        if (const HostFunction* f = find_wasi_function(import.name)) {
            RTFS_CHECK(check(func_type(f->params)));
            return bind(store, state, *f);
        }
        if (declared->results == wi::ValueTypes{wabt::Type::I32})
            return bind_enosys(store, *declared);
        return refuse("which is not a WASI preview1 function the engine knows");
    }
    if (import.module == kMicrovmModule) {
        if (const HostFunction* f = find_microvm_function(import.name)) {
            RTFS_CHECK(check(func_type(f->params)));
            return bind(store, state, *f);
        }
        return refuse(
            "which the \"microvm\" module does not provide (it has http_fetch and "
            "http_response_read)");
    }
    return refuse("which the wasm provider does not provide (import modules: " +
                  std::string(kWasiModule) + ", " + std::string(kMicrovmModule) + ")");
}

// What every function import is bound to when the host must not be called (RunState::
// refuse_host_calls).
wi::Ref bind_refusal(wi::Store& store, RunState& state, const wi::ImportType& import) {
    const bool no_preopens =
        import.module == kWasiModule && import.name == "fd_prestat_get";  // RunState::initialising
    wi::HostFunc::Callback cb = [&state, name = import_name(import), no_preopens](
                                    wi::Thread& thread, const wi::Values&, wi::Values& results,
                                    wi::Trap::Ptr* trap) {
        if (no_preopens) {
            results[0] = wi::Value::Make(uint32_t{wasi::kBadf});
            return wabt::Result::Ok;
        }
        state.refused_host_call = name;
        *trap = wi::Trap::New(thread.store(), "host call refused");
        return wabt::Result::Error;
    };
    return wi::HostFunc::New(store, *wabt::cast<wi::FuncType>(import.type.get()), std::move(cb))
        .ref();
}

}  // namespace

Expected<wi::RefVec> bind_imports(wi::Store& store, const wi::ModuleDesc& desc, RunState& state) {
    wi::RefVec refs;
    refs.reserve(desc.imports.size());
    for (const wi::ImportDesc& import : desc.imports) {
        RTFS_TRY(wi::Ref ref, bind_one(store, import.type, state));
        if (state.refuse_host_calls) {
            if (!wabt::isa<wi::FuncType>(import.type.type.get())) {
                return fail(Failure::Kind::InvalidInput, "the module imports a non-function");
            }
            ref = bind_refusal(store, state, import.type);
        }
        refs.push_back(ref);
    }
    return refs;
}

wi::HostFunc::Ptr make_grow_hook(wi::Store& store, RunState& state, wi::Memory* memory,
                                 bool cap_binding) {
    wi::HostFunc::Callback cb = [&state, memory, cap_binding](wi::Thread&, const wi::Values& params,
                                                              wi::Values& results, wi::Trap::Ptr*) {
        const uint64_t delta = params[0].Get<uint32_t>();
        const uint64_t old_pages = memory->PageSize();
        if (grow_unfilled(*memory, delta)) {
            results[0] = wi::Value::Make(static_cast<uint32_t>(old_pages));
        } else {
            if (cap_binding && old_pages + delta > state.memory_cap_pages) {
                state.grow_refused_by_cap = true;
            }
            results[0] = wi::Value::Make(static_cast<uint32_t>(-1));
        }
        return wabt::Result::Ok;
    };
    return wi::HostFunc::New(store, func_type("i"), std::move(cb));
}

}  // namespace microvm::wasm
