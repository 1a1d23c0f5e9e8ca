#!/usr/bin/env python3
"""LoRA golden cases: a MusicGen case whose model is another case's checkpoint with random PEFT LoRA adapters
merged into it.

PEFT is not part of the reference environment, so this script does what PEFT does, step by step, as read in its
source (huggingface/peft at v0.12.0; the same in its main branch of 2026):

- Which modules get a LoRA layer: `check_target_module_exists` (peft/tuners/tuners_utils.py): a list of
  `target_modules` matches a module whose name equals an entry or ends with "." + entry; a string is a regular
  expression the whole name must match (`re.fullmatch`). Modules named by `modules_to_save` are left out, as PEFT's
  main branch does. Only torch.nn.Linear and torch.nn.Embedding modules are targeted here.
- Rank and alpha per module: `rank_pattern` / `alpha_pattern` keys are matched as `get_pattern_key` does
  (peft/utils/other.py: the first key k with `re.match(rf"(.*\\.)?({k})$", name)`), else `r` and `lora_alpha`.
- Scaling (peft/tuners/lora/layer.py, `LoraLayer.update_layer`, v0.12.0 lines 120-123, and
  `Embedding.update_layer`, lines 624-627): `lora_alpha / sqrt(r)` with `use_rslora`, else `lora_alpha / r`; an
  adapter loaded with a scale multiplies it (`LoraLayer.scale_layer`: `self.scaling[adapter] *= scale`).
- The merged weight (`Linear.merge` -> `get_delta_weight`, line 520, and `Embedding.get_delta_weight`, line 709):
  `W += transpose(B @ A, fan_in_fan_out) * scaling` for a Linear (PEFT turns fan_in_fan_out off for
  torch.nn.Linear, `dispatch_default`, lines 1080-1086) and `W += (B @ A).T * scaling` for an Embedding.
- The saved layout (`get_peft_model_state_dict`, peft/utils/save_and_load.py): keys of the PeftModel's state dict
  with the adapter name removed: `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r]
  for a Linear, `base_model.model.<module>.lora_embedding_A` [r, num_embeddings] and `.lora_embedding_B`
  [embedding_dim, r] for an Embedding, and every tensor of a `modules_to_save` module under its own name
  (`base_model.model.<module>.<param>`); adapter_model.safetensors with metadata {"format": "pt"};
  adapter_config.json as `PeftConfigMixin.save_pretrained` writes it (`json.dumps(..., indent=2, sort_keys=True)`,
  the fields of v0.12.0's LoraConfig, `inference_mode` true as `PeftModel.save_pretrained` sets it).

The adapter's weights are random (seeded): A ~ N(0, 1/in), and B scaled so that the merged delta is about
`amplitude` times the base weight's own scale (PEFT starts B at zero, which would change nothing). The expected
outputs come from the reference model (transformers 4.43.4) with the adapters merged into its weights as above,
through make_case.py's runners; the checkpoint itself is another case's (case.json's "model"), so the case stores
only case.json, the adapter folders and expected.safetensors.

Usage:
    /usr/bin/python3 make_lora_case.py SPEC.json --out DIR

Spec: the fields of a make_case.py musicgen or musicgen_melody spec (prompts, guidance_scale, max_new_tokens,
melody_seconds, codec_test, ...), plus
    "model": "../../musicgen-prompt/model"      the base checkpoint (relative to the spec)
    "case_model": "../musicgen-prompt/model"    written to case.json (relative to the case folder)
    "adapters": [{"folder": "adapter", "scale": 1.0, "seed": 101, "amplitude": 0.3,
                  "config": {...LoraConfig fields: r, lora_alpha, target_modules, use_rslora, modules_to_save,
                             rank_pattern, alpha_pattern, base_model_name_or_path...}}]
"""

import argparse
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_case as mc  # noqa: E402  (sets up the reference's import paths)

import torch  # noqa: E402

# LoraConfig.to_dict() of PEFT v0.12.0 with its defaults (peft/tuners/lora/config.py and peft/config.py), as
# PeftModel.save_pretrained writes it; a spec's "config" overrides fields.
PEFT_LORA_CONFIG = {
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": None, "bias": "none",
    "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
    "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": 8, "lora_dropout": 0.0,
    "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None, "peft_type": "LORA", "r": 8,
    "rank_pattern": {}, "revision": None, "target_modules": None, "task_type": None, "use_dora": False,
    "use_rslora": False,
}


def is_targeted(config, name):
    """check_target_module_exists: a list entry equal to the name or a suffix after a dot; a string: fullmatch."""
    targets = config["target_modules"]
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return name in targets or any(name.endswith("." + t) for t in targets)


def is_saved_whole(config, name):
    """A module that modules_to_save names (or one inside it): never a LoRA target."""
    return any(re.match(rf"(^|.*\.){m}($|\..*)", name) for m in config.get("modules_to_save") or [])


def pattern_value(patterns, name, default):
    """get_pattern_key: the value of the first key k for which re.match(rf"(.*\\.)?({k})$", name)."""
    for key, value in (patterns or {}).items():
        if re.match(rf"(.*\.)?({key})$", name):
            return value
    return default


def lora_targets(model, config):
    """(name, module, r, scaling) of every module PEFT wraps, in named_modules() order."""
    out = []
    for name, module in model.named_modules():
        if not name or is_saved_whole(config, name) or not is_targeted(config, name):
            continue
        if not isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            raise ValueError(f"{name} is a {type(module).__name__}; only Linear and Embedding are targeted here")
        r = pattern_value(config.get("rank_pattern"), name, config["r"])
        alpha = pattern_value(config.get("alpha_pattern"), name, config["lora_alpha"])
        out.append((name, module, r, alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r))
    if not out:
        raise ValueError("target_modules names no module of the model")
    return out


def saved_whole_modules(model, config):
    names = config.get("modules_to_save") or []
    found = [(n, m) for n, m in model.named_modules() if n in names]
    if len(found) != len(names):
        raise ValueError(f"modules_to_save {names}: found only {[n for n, _ in found]} (give full module names)")
    return found


def make_adapter(model, desc, out_dir):
    """Writes one adapter folder in PEFT's saved layout and returns what merging it needs."""
    from safetensors.torch import save_file
    config = dict(PEFT_LORA_CONFIG, **desc["config"])
    generator = torch.Generator().manual_seed(int(desc["seed"]))
    amplitude = float(desc.get("amplitude", 0.3))
    tensors, layers = {}, []
    for name, module, r, scaling in lora_targets(model, config):
        key = f"base_model.model.{name}"
        if isinstance(module, torch.nn.Linear):
            out_features, in_features = module.weight.shape
            a = torch.randn(r, in_features, generator=generator) / math.sqrt(in_features)
            b = torch.randn(out_features, r, generator=generator) * (amplitude / (scaling * math.sqrt(r)))
            tensors[f"{key}.lora_A.weight"], tensors[f"{key}.lora_B.weight"] = a, b
        else:
            num_embeddings, dim = module.weight.shape
            a = torch.randn(r, num_embeddings, generator=generator)
            b = torch.randn(dim, r, generator=generator) * (amplitude / (scaling * math.sqrt(r) * math.sqrt(dim)))
            tensors[f"{key}.lora_embedding_A"], tensors[f"{key}.lora_embedding_B"] = a, b
        layers.append((module, a, b, scaling))
    torch.manual_seed(int(desc["seed"]) + 1)
    whole = []
    for name, module in saved_whole_modules(model, config):
        state = {k: mc.random_tensor(f"{name}.{k}", v.shape) for k, v in module.state_dict().items()}
        tensors.update({f"base_model.model.{name}.{k}": v for k, v in state.items()})
        whole.append((module, state))

    folder = os.path.join(out_dir, desc["folder"])
    os.makedirs(folder, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(folder, "adapter_model.safetensors"),
              metadata={"format": "pt"})
    with open(os.path.join(folder, "adapter_config.json"), "w") as fh:
        fh.write(json.dumps(config, indent=2, sort_keys=True))
    print(f"  adapter {desc['folder']}: {len(layers)} LoRA layers, {len(whole)} whole modules, "
          f"{sum(t.numel() for t in tensors.values())} values")
    return layers, whole


def merge(layers, whole, scale):
    """PEFT's merge with the adapter scaled by `scale` (scale_layer multiplies the scaling)."""
    with torch.no_grad():
        for module, a, b, scaling in layers:
            s = scaling * scale
            if isinstance(module, torch.nn.Linear):
                delta = (b @ a) * s            # Linear.get_delta_weight (fan_in_fan_out off for nn.Linear)
            else:
                delta = (b @ a).T * s          # Embedding.get_delta_weight: transpose(B @ A, True)
            module.weight.data += delta
        for module, state in whole:
            module.load_state_dict(state)


def make(spec, spec_dir, out_dir):
    torch.set_grad_enabled(False)
    kind = spec["kind"]
    model_dir = mc.resolve(spec_dir, spec["model"])
    model = mc.model_class(kind).from_pretrained(model_dir).eval()
    os.makedirs(out_dir, exist_ok=True)
    print(f"making {spec['name']} ({kind}, {model_dir} with {len(spec['adapters'])} adapter(s)) -> {out_dir}")
    adapters = [(desc, make_adapter(model, desc, out_dir)) for desc in spec["adapters"]]
    # Every adapter is made from the base weights, then merged in order (deltas add up, as PEFT's merge_and_unload).
    for desc, (layers, whole) in adapters:
        merge(layers, whole, float(desc.get("scale", 1.0)))
    runner = {"musicgen": mc.run_musicgen, "musicgen_melody": mc.run_musicgen_melody}[kind]
    header, tensors, inputs = runner(spec, model, model_dir)
    header["model"] = spec["case_model"]
    header["adapters"] = [{"path": d["folder"], "scale": float(d.get("scale", 1.0))} for d in spec["adapters"]]
    mc.write_case(out_dir, header, tensors, inputs)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out_dir) for f in fs)
    print(f"  wrote {len(tensors)} tensors, case folder {total / 1e6:.2f} MB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    with open(args.spec, encoding="utf-8") as fh:
        spec = json.load(fh)
    make(spec, os.path.dirname(os.path.abspath(args.spec)), os.path.abspath(args.out))


if __name__ == "__main__":
    main()
