#!/usr/bin/env python3
"""Golden-case generator for the MusicGen engine.

Builds a seeded random-weight checkpoint in the Hub layout (or re-stores an existing checkpoint folder), runs the
reference implementation (Hugging Face transformers 4.43.4 on PyTorch 1.13, CPU, float32) and writes a case folder
in the format of ../FORMAT.md:

    <out>/model/                 checkpoint (config.json, generation_config.json, model.safetensors or shards +
                                 index, tokenizer files, preprocessor_config.json)
    <out>/case.json              settings and the list of tensors
    <out>/expected.safetensors   every recorded tensor

Kinds: musicgen, musicgen_melody, encodec (model cases) and resample, chroma (signal-processing cases, no model).
See README.md next to this file for the spec format and the formats of the resample and chroma cases.

Usage:
    /usr/bin/python3 make_case.py SPEC.json --out DIR [--from-checkpoint DIR] [--seed N]
                                  [--dtype float16|bfloat16|float32] [--shard SIZE] [--parametrized-weight-norm]
"""

import argparse
import copy
import json
import math
import os
import shutil
import sys
import tempfile

# The reference environment: transformers source tree and the shims (safetensors, tokenizers, metadata).
_REF_SRC = os.environ.get("GOLDEN_REF_SRC", "/tmp/ref/src")
_SHIMS = os.environ.get("GOLDEN_REF_SHIMS", "/work/shared/reference/shims")
for _p in (_SHIMS, _REF_SRC):
    if os.path.isdir(_p) and _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402
import torch  # noqa: E402

SAMPLING_RATE = 32000

# Strings tokenized in every text-conditioned case after the prompts (tokenizer edge cases).
TOKENIZER_EXTRA_TEXTS = [
    "",
    "  leading and   multiple   spaces  ",
    "UPPER lower MiXeD 123 4/4 120bpm",
    "Ünïcödé Ωmega — “quoted” ｆｕｌｌｗｉｄｔｈ ① ½ ﬁ",
    "tabs\tand\nnewlines",
    "emoji 🎸🥁 unknown 漢字",
    "café naïve façade",
    "a" * 40,
    "<pad> </s> <unk> <extra_id_0> literal specials",
]

TOKENIZER_FILES = ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"]

# Tiny default sizes (those of the original cases); a spec overrides any of them.
DEFAULT_TEXT = dict(
    vocab_size=300, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, dropout_rate=0.0,
    layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="relu", is_encoder_decoder=False,
    use_cache=False, pad_token_id=0, eos_token_id=1, tie_word_embeddings=True,
)
DEFAULT_CODEC = dict(
    target_bandwidths=[2.2], sampling_rate=SAMPLING_RATE, audio_channels=1, normalize=False, chunk_length_s=None,
    overlap=None, hidden_size=32, num_filters=4, num_residual_layers=1, upsampling_ratios=[8, 5, 4, 4],
    norm_type="weight_norm", kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_growth_rate=2,
    use_causal_conv=False, pad_mode="reflect", compress=2, num_lstm_layers=2, trim_right_ratio=1.0,
    codebook_size=2048, codebook_dim=32, use_conv_shortcut=False,
)
DEFAULT_DECODER = dict(
    max_position_embeddings=2048, num_hidden_layers=2, ffn_dim=128, num_attention_heads=4, hidden_size=64,
    layerdrop=0.0, use_cache=True, activation_function="gelu", dropout=0.0, attention_dropout=0.0,
    activation_dropout=0.0, initializer_factor=0.02, scale_embedding=False, num_codebooks=4, audio_channels=1,
    tie_word_embeddings=False,
)

# Noise seeds of the test signals are the case seed plus these offsets (those of the original cases).
DEFAULT_NOISE_OFFSETS = {"codec": 1, "melody": 3, "audio_prompt": 7}


# --------------------------------------------------------------------------------------------------------------
# Test signals
# --------------------------------------------------------------------------------------------------------------

def test_tone(num_samples, f0, sampling_rate=SAMPLING_RATE):
    """Deterministic part of the test signal: a tone at f0 with a slightly detuned second harmonic and a slow
    amplitude swell. Computed in float32 with torch, in this exact order of operations."""
    t = torch.arange(num_samples) / sampling_rate
    env = 0.6 + 0.4 * torch.sin(2 * math.pi * 1.7 * t)
    return env * (0.4 * torch.sin(2 * math.pi * f0 * t) + 0.2 * torch.sin(2 * math.pi * 2.01 * f0 * t + 0.3))


def noise(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def codec_test_signal(batch, num_samples, seed):
    """[batch, 1, S]: row i is test_tone(f0 = 110 Hz * (i + 1)) plus 0.05 * white noise from generator(seed)."""
    shape = (batch, 1, num_samples)
    tones = torch.stack([test_tone(num_samples, 110.0 * (i + 1)) for i in range(batch)]).reshape(shape)
    return tones + 0.05 * noise(shape, seed)


def single_test_signal(num_samples, seed, f0=110.0):
    """[S]: test_tone(f0) plus 0.05 * white noise from generator(seed)."""
    return test_tone(num_samples, f0) + 0.05 * noise(num_samples, seed)


def seconds_to_samples(seconds, sampling_rate=SAMPLING_RATE):
    return int(round(seconds * sampling_rate))


# --------------------------------------------------------------------------------------------------------------
# Configs and random weights
# --------------------------------------------------------------------------------------------------------------

def build_configs(spec):
    from transformers import EncodecConfig, T5Config
    from transformers import MusicgenConfig, MusicgenDecoderConfig
    from transformers import MusicgenMelodyConfig, MusicgenMelodyDecoderConfig

    sizes = spec.get("config", {})
    codec_kw = dict(DEFAULT_CODEC, **sizes.get("audio_encoder", {}))
    codec = EncodecConfig(**codec_kw)
    if spec["kind"] == "encodec":
        return codec

    text = T5Config(**dict(DEFAULT_TEXT, **sizes.get("text_encoder", {})))
    dec_kw = dict(DEFAULT_DECODER, **sizes.get("decoder", {}))
    dec_kw.setdefault("vocab_size", codec.codebook_size)
    dec_kw.setdefault("pad_token_id", dec_kw["vocab_size"])
    dec_kw.setdefault("bos_token_id", dec_kw["vocab_size"])
    if "audio_channels" in spec:
        dec_kw["audio_channels"] = spec["audio_channels"]
    if spec["kind"] == "musicgen_melody":
        dec = MusicgenMelodyDecoderConfig(**dec_kw)
        top = sizes.get("top", {})
        return MusicgenMelodyConfig.from_sub_models_config(
            text, codec, dec, num_chroma=top.get("num_chroma", 12), chroma_length=top.get("chroma_length", 235))
    dec = MusicgenDecoderConfig(**dec_kw)
    return MusicgenConfig.from_sub_models_config(text, codec, dec)


def model_class(kind):
    import transformers
    return {
        "musicgen": transformers.MusicgenForConditionalGeneration,
        "musicgen_melody": transformers.MusicgenMelodyForConditionalGeneration,
        "encodec": transformers.EncodecModel,
    }[kind]


def random_tensor(name, shape):
    """One tensor of the seeded random checkpoint, drawn from the global torch generator."""
    leaf = name.split(".")[-1]
    if leaf in ("cluster_size", "inited"):
        return torch.ones(shape)
    if leaf in ("embed", "embed_avg"):  # RVQ codebooks
        return torch.randn(shape)
    if leaf == "weight_g":
        return 0.5 + torch.rand(shape)
    if "relative_attention_bias" in name:
        return torch.randn(shape) * 0.5
    if leaf.startswith("bias"):
        return torch.randn(shape) * 0.1
    if "norm" in name and leaf == "weight":
        return 1 + torch.randn(shape) * 0.1
    if len(shape) >= 2:  # linear / conv / embedding / LSTM: 1/sqrt(fan_in)
        return torch.randn(shape) / math.sqrt(math.prod(shape[1:]))
    raise ValueError(f"no random rule for {name} {tuple(shape)}")


def randomize(model, seed):
    """Seeded random weights: torch.manual_seed(seed), then every parameter in named_parameters() order, then every
    persistent buffer in named_buffers() order. The sinusoidal position table is left as computed."""
    state_names = set(model.state_dict().keys())
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("embed_positions.weights"):
                continue
            p.copy_(random_tensor(name, p.shape))
        for name, b in model.named_buffers():
            if name not in state_names:
                continue
            b.copy_(random_tensor(name, b.shape))


def hub_generation_config(model):
    from transformers import GenerationConfig
    pad = model.config.decoder.pad_token_id
    return GenerationConfig(bos_token_id=pad, decoder_start_token_id=pad, do_sample=True, guidance_scale=3.0,
                            max_length=1500, pad_token_id=pad, top_k=250)


def save_feature_extractor(spec, config, model_dir):
    from transformers import EncodecFeatureExtractor, MusicgenMelodyFeatureExtractor
    if spec["kind"] == "musicgen_melody":
        fe = MusicgenMelodyFeatureExtractor(**spec.get("feature_extractor", {}))
    elif spec["kind"] == "encodec":
        fe = EncodecFeatureExtractor(feature_size=config.audio_channels, sampling_rate=config.sampling_rate,
                                     padding_side="right", return_attention_mask=True,
                                     chunk_length_s=config.chunk_length_s, overlap=config.overlap)
    else:
        fe = EncodecFeatureExtractor(feature_size=config.decoder.audio_channels,
                                     sampling_rate=config.audio_encoder.sampling_rate, padding_side="left",
                                     return_attention_mask=True, chunk_length_s=None, overlap=None)
    fe.save_pretrained(model_dir)


# --------------------------------------------------------------------------------------------------------------
# Storage variants
# --------------------------------------------------------------------------------------------------------------

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def storage_for_case(storage):
    """The `storage` object written to case.json (empty for the default float32 single file)."""
    out = {}
    if storage.get("dtype", "float32") != "float32":
        out["dtype"] = storage["dtype"]
    if storage.get("shard"):
        out["shard"] = storage["shard"]
    if storage.get("parametrized_weight_norm"):
        out["parametrized_weight_norm"] = True
    return out


def save_weights(model, model_dir, storage):
    """save_pretrained with the storage dtype and shard size (names weight_g / weight_v)."""
    dtype = _DTYPES[storage.get("dtype", "float32")]
    m = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
    kwargs = {"safe_serialization": True}
    if storage.get("shard"):
        kwargs["max_shard_size"] = storage["shard"]
    m.save_pretrained(model_dir, **kwargs)
    if dtype != torch.float32:
        del m


def parametrized_name(name):
    if name.endswith(".weight_g"):
        return name[: -len("weight_g")] + "parametrizations.weight.original0"
    if name.endswith(".weight_v"):
        return name[: -len("weight_v")] + "parametrizations.weight.original1"
    return name


def rename_weight_norm(model_dir):
    """Rewrite the stored weights with torch >= 2.1 names: <conv>.parametrizations.weight.original0 (g) and
    .original1 (v). The reference (torch 1.13) cannot load these names; the expected outputs come from the same
    values loaded under the old names."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    files = [f for f in sorted(os.listdir(model_dir)) if f.endswith(".safetensors")]
    for f in files:
        path = os.path.join(model_dir, f)
        with safe_open(path, framework="pt") as fh:
            meta = fh.metadata()
            tensors = {parametrized_name(k): fh.get_tensor(k) for k in fh.keys()}
        save_file(tensors, path, metadata=meta)
    if os.path.exists(index_path):
        with open(index_path) as fh:
            index = json.load(fh)
        index["weight_map"] = {parametrized_name(k): v for k, v in index["weight_map"].items()}
        with open(index_path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(index, indent=2, sort_keys=True) + "\n")


def read_stored_weights(model_dir):
    """All stored tensors (following the index if sharded), with their stored dtype."""
    from safetensors import safe_open
    out = {}
    for f in sorted(os.listdir(model_dir)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(model_dir, f), framework="pt") as fh:
                for k in fh.keys():
                    out[k] = fh.get_tensor(k)
    return out


def check_stored_weights(model_dir, reference_model, storage):
    """Self-check: every stored tensor, mapped back to the reference model's names and cast to float32, equals the
    parameter the reference runs with, and the index (if any) lists exactly the stored names."""
    stored = read_stored_weights(model_dir)
    inverse = {parametrized_name(k): k for k in reference_model.state_dict().keys()}
    sd = reference_model.state_dict()
    dtype = _DTYPES[storage.get("dtype", "float32")]
    for name, t in stored.items():
        if t.dtype != dtype:
            raise AssertionError(f"{name}: stored as {t.dtype}, expected {dtype}")
        ref = sd[inverse[name] if storage.get("parametrized_weight_norm") else name]
        if not torch.equal(t.float(), ref):
            raise AssertionError(f"{name}: stored value differs from the reference model")
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as fh:
            wm = json.load(fh)["weight_map"]
        if set(wm) != set(stored):
            raise AssertionError("index weight_map does not match the stored tensors")
        for name, f in wm.items():
            from safetensors import safe_open
            with safe_open(os.path.join(model_dir, f), framework="pt") as fh:
                if name not in fh.keys():
                    raise AssertionError(f"{name} not in {f}")
    return len(stored)


def prepare_checkpoint(spec, out_dir, spec_dir):
    """Writes <out>/model and returns (reference model, model_dir, staging dir to delete).

    The reference model is always loaded with from_pretrained from a copy of the checkpoint that it can read (old
    weight-norm names), so that float16 / bfloat16 storage is rounded exactly as loading rounds it."""
    kind = spec["kind"]
    cls = model_class(kind)
    storage = spec.get("storage", {})
    model_dir = os.path.join(out_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    stage = tempfile.mkdtemp(prefix="golden-stage-")

    source = spec.get("from_checkpoint")
    if source:
        source = resolve(spec_dir, source)
        model = cls.from_pretrained(source)
        model.config.name_or_path = ""  # keep config.json as the source wrote it (no _name_or_path)
        model.eval()
    else:
        config = build_configs(spec)
        model = cls(config)
        randomize(model, spec["seed"])
        model.eval()
        if kind != "encodec":
            model.generation_config = hub_generation_config(model)

    save_weights(model, stage, storage)
    # The files that are not weights: configs, tokenizer, feature extractor.
    if source:
        for f in os.listdir(source):
            if not f.endswith(".safetensors") and f != "model.safetensors.index.json" and f not in (
                    "config.json", "generation_config.json"):
                shutil.copy2(os.path.join(source, f), os.path.join(stage, f))
    else:
        save_feature_extractor(spec, model.config, stage)
        if kind != "encodec":
            tok = resolve(spec_dir, spec["tokenizer_from"])
            for f in TOKENIZER_FILES:
                shutil.copy2(os.path.join(tok, f), os.path.join(stage, f))

    reference = cls.from_pretrained(stage)
    reference.eval()
    del model

    for f in os.listdir(stage):
        shutil.copy2(os.path.join(stage, f), os.path.join(model_dir, f))
    if storage.get("parametrized_weight_norm"):
        rename_weight_norm(model_dir)
    n = check_stored_weights(model_dir, reference, storage)
    print(f"  checkpoint: {n} tensors stored, storage {storage_for_case(storage) or 'float32, one file'}")
    return reference, model_dir, stage


def resolve(base, path):
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


# --------------------------------------------------------------------------------------------------------------
# Recording module outputs
# --------------------------------------------------------------------------------------------------------------

class Recorder:
    """Forward hooks that record module outputs under golden names, only while their phase is active."""

    def __init__(self):
        self.phase = None
        self.tensors = {}
        self.handles = []

    def add(self, module, name, phase, pick=None):
        def hook(_module, _inputs, output):
            if self.phase != phase:
                return
            value = pick(output) if pick else (output[0] if isinstance(output, tuple) else output)
            if name in self.tensors:
                raise RuntimeError(f"{name} recorded twice in phase {phase}")
            self.tensors[name] = value.detach().clone()
        self.handles.append(module.register_forward_hook(hook))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def add_codec_hooks(rec, codec, prefix):
    for i, layer in enumerate(codec.encoder.layers):
        rec.add(layer, f"{prefix}encoder.layers.{i}", "codec")
    for i, layer in enumerate(codec.decoder.layers):
        rec.add(layer, f"{prefix}decoder.layers.{i}", "codec")


def run_codec_test(rec, codec, signal, bandwidth, prefix):
    out = {f"{prefix}encode.input": signal}
    rec.phase = "codec"
    enc = codec.encode(signal, bandwidth=bandwidth)
    codes = enc.audio_codes[0]
    out[f"{prefix}encode.codes"] = codes
    rec.phase = None
    out[f"{prefix}quantizer.decode"] = codec.quantizer.decode(codes.transpose(0, 1))
    rec.phase = "codec"
    out[f"{prefix}decode.audio"] = codec.decode(enc.audio_codes, enc.audio_scales).audio_values
    rec.phase = None
    return out


def add_text_encoder_hooks(rec, text_encoder, phase):
    rec.add(text_encoder.shared, "text_encoder.shared", phase)
    for i, block in enumerate(text_encoder.encoder.block):
        rec.add(block, f"text_encoder.encoder.block.{i}", phase)
    rec.add(text_encoder.encoder.final_layer_norm, "text_encoder.encoder.final_layer_norm", phase)
    rec.add(text_encoder, "text_encoder.last_hidden_state", phase, pick=lambda o: o.last_hidden_state)


def add_decoder_hooks(rec, decoder, phase):
    inner = decoder.model.decoder
    rec.add(inner.embed_positions, "decoder.model.decoder.embed_positions", phase)
    for i, layer in enumerate(inner.layers):
        rec.add(layer, f"decoder.model.decoder.layers.{i}", phase)
    rec.add(inner.layer_norm, "decoder.model.decoder.layer_norm", phase)


def capture_delay_pattern(model):
    """Wraps decoder.apply_delay_pattern_mask; the last call in generate gives the final delayed sequence."""
    calls = []
    original = model.decoder.apply_delay_pattern_mask

    def wrapped(input_ids, mask):
        result = original(input_ids, mask)
        calls.append(result.detach().clone())
        return result

    model.decoder.apply_delay_pattern_mask = wrapped
    return calls


def tokenizer_cases(tokenizer, prompts):
    return [{"text": t, "ids": [int(i) for i in tokenizer(t).input_ids]} for t in list(prompts) + TOKENIZER_EXTRA_TEXTS]


# --------------------------------------------------------------------------------------------------------------
# Kinds with a model
# --------------------------------------------------------------------------------------------------------------

def load_processor(kind, model_dir):
    """The processor as the reference builds it: the slow sentencepiece T5 tokenizer and the feature extractor."""
    from transformers import (EncodecFeatureExtractor, MusicgenMelodyFeatureExtractor, MusicgenMelodyProcessor,
                              MusicgenProcessor, T5Tokenizer)
    tokenizer = T5Tokenizer.from_pretrained(model_dir)
    if kind == "musicgen_melody":
        return MusicgenMelodyProcessor(MusicgenMelodyFeatureExtractor.from_pretrained(model_dir), tokenizer)
    return MusicgenProcessor(EncodecFeatureExtractor.from_pretrained(model_dir), tokenizer)


def run_musicgen(spec, model, model_dir):
    seed = spec["seed"]
    offsets = dict(DEFAULT_NOISE_OFFSETS, **spec.get("noise_seed_offsets", {}))
    g = float(spec.get("guidance_scale", 3.0))
    max_new = int(spec["max_new_tokens"])
    prompts = spec.get("prompts", [])
    unconditional = spec.get("unconditional")
    rec = Recorder()
    tensors = {}
    meta = {}

    processor = load_processor("musicgen", model_dir)
    pad = model.generation_config.pad_token_id
    num_codebooks = model.decoder.num_codebooks

    # 1. generate (greedy)
    if unconditional:
        batch = int(unconditional.get("num_samples", 1)) if isinstance(unconditional, dict) else int(unconditional)
        inputs = model.get_unconditional_inputs(num_samples=batch)
        text_states = inputs.encoder_outputs[0]
        attention_mask = inputs.attention_mask
        gen_kwargs = dict(encoder_outputs=inputs.encoder_outputs, attention_mask=attention_mask,
                          guidance_scale=inputs.guidance_scale)
        g = float(inputs.guidance_scale)
    else:
        batch = len(prompts)
        proc_kwargs = dict(text=prompts, padding=True, return_tensors="pt")
        if spec.get("audio_prompt_seconds"):
            waves = []
            for i, sec in enumerate(spec["audio_prompt_seconds"]):
                w = single_test_signal(seconds_to_samples(sec), seed + offsets["audio_prompt"] + i)
                if model.config.decoder.audio_channels == 2:
                    w = torch.stack([w, single_test_signal(w.shape[0], seed + offsets["audio_prompt"] + 100 + i,
                                                           f0=165.0)])
                waves.append(w.numpy())
            proc_kwargs.update(audio=waves, sampling_rate=SAMPLING_RATE)
        inputs = processor(**proc_kwargs)
        tensors["input_ids"] = inputs["input_ids"].long()
        tensors["attention_mask"] = inputs["attention_mask"].long()
        attention_mask = tensors["attention_mask"]
        gen_kwargs = dict(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                          guidance_scale=g)
        if "input_values" in inputs:
            tensors["input_values"] = inputs["input_values"].float()
            tensors["padding_mask"] = inputs["padding_mask"].long()
            gen_kwargs.update(input_values=inputs["input_values"], padding_mask=inputs["padding_mask"])
        add_text_encoder_hooks(rec, model.text_encoder, "generate")
        meta["tokenizer_cases"] = tokenizer_cases(processor.tokenizer, prompts)
    if unconditional:
        meta["tokenizer_cases"] = tokenizer_cases(processor.tokenizer, [])

    calls = capture_delay_pattern(model)
    rec.phase = "generate"
    audio = model.generate(**gen_kwargs, do_sample=False, max_new_tokens=max_new)
    rec.phase = None
    delayed = calls[-1]
    tensors["generate.delayed_ids"] = delayed
    tensors["generate.codes"] = delayed[delayed != pad].reshape(batch, num_codebooks, -1)
    tensors["generate.audio"] = audio
    if not unconditional:
        text_states = rec.tensors["text_encoder.last_hidden_state"]

    # 2. one teacher-forced pass over the generated sequence (without its last column)
    ids = delayed[:, :-1]
    if g > 1:
        t_ids = torch.cat([ids, ids], dim=0)
        t_states = torch.cat([text_states, torch.zeros_like(text_states)], dim=0)
        t_mask = torch.cat([attention_mask, torch.zeros_like(attention_mask)], dim=0)
    else:
        t_ids, t_states, t_mask = ids, text_states, attention_mask
    tensors["teacher.decoder_input_ids"] = t_ids
    tensors["teacher.encoder_hidden_states"] = t_states
    tensors["teacher.attention_mask"] = t_mask.long()
    if hasattr(model, "enc_to_dec_proj"):  # only when the text and decoder widths differ
        rec.add(model.enc_to_dec_proj, "enc_to_dec_proj", "teacher")
    add_decoder_hooks(rec, model.decoder, "teacher")
    rec.phase = "teacher"
    logits = model(encoder_outputs=(t_states,), attention_mask=t_mask, decoder_input_ids=t_ids).logits
    rec.phase = None
    if g > 1:
        cond, uncond = logits.split(logits.shape[0] // 2, dim=0)
        tensors["teacher.guided_logits"] = uncond + (cond - uncond) * g
        tensors["teacher.logits.last"] = logits[:, -1, :]
    else:
        tensors["teacher.logits"] = logits

    # 3. the codec on a test signal (unless the spec says "codec_test": false)
    codec_spec = spec.get("codec_test", {})
    if codec_spec is not False:
        add_codec_hooks(rec, model.audio_encoder, "audio_encoder.")
        signal = codec_test_signal(int(codec_spec.get("batch", 1)),
                                   seconds_to_samples(codec_spec.get("seconds", 0.25)), seed + offsets["codec"])
        tensors.update(run_codec_test(rec, model.audio_encoder, signal,
                                      max(model.config.audio_encoder.target_bandwidths), "audio_encoder."))
    rec.remove()
    tensors.update(rec.tensors)

    inputs_list = ["teacher.attention_mask", "teacher.decoder_input_ids", "teacher.encoder_hidden_states"]
    if codec_spec is not False:
        inputs_list.append("audio_encoder.encode.input")
    if "input_values" in tensors:
        inputs_list += ["input_values", "padding_mask"]
    header = {
        "kind": "musicgen", "seed": seed, "guidance_scale": g, "max_new_tokens": max_new, "do_sample": False,
        "prompts": list(prompts), "audio_channels": model.config.decoder.audio_channels,
        "storage": storage_for_case(spec.get("storage", {})),
    }
    if spec.get("audio_prompt_seconds"):
        header["audio_prompt_seconds"] = spec["audio_prompt_seconds"]
    if unconditional:
        header["unconditional"] = True
    header["tokenizer_cases"] = meta["tokenizer_cases"]
    return header, tensors, inputs_list


def run_musicgen_melody(spec, model, model_dir):
    seed = spec["seed"]
    offsets = dict(DEFAULT_NOISE_OFFSETS, **spec.get("noise_seed_offsets", {}))
    g = float(spec.get("guidance_scale", 3.0))
    max_new = int(spec["max_new_tokens"])
    prompts = spec["prompts"]
    rec = Recorder()
    tensors = {}
    processor = load_processor("musicgen_melody", model_dir)
    pad = model.generation_config.pad_token_id
    batch = len(prompts)

    waves = [single_test_signal(seconds_to_samples(s), seed + offsets["melody"] + i)
             for i, s in enumerate(spec["melody_seconds"])]
    inputs = processor(audio=[w.numpy() for w in waves], text=prompts, padding=True, return_tensors="pt",
                       sampling_rate=SAMPLING_RATE)
    longest = max(w.shape[0] for w in waves)
    padded = torch.zeros(len(waves), longest)
    for i, w in enumerate(waves):
        padded[i, : w.shape[0]] = w
    tensors["melody.waveforms"] = padded
    tensors["melody.lengths"] = torch.tensor([w.shape[0] for w in waves], dtype=torch.int64)
    tensors["input_features"] = inputs["input_features"].float()
    tensors["input_ids"] = inputs["input_ids"].long()
    tensors["attention_mask"] = inputs["attention_mask"].long()

    add_text_encoder_hooks(rec, model.text_encoder, "generate")
    if hasattr(model, "enc_to_dec_proj"):  # only when the text and decoder widths differ
        rec.add(model.enc_to_dec_proj, "generate.enc_to_dec_proj", "generate")
    if hasattr(model, "audio_enc_to_dec_proj"):  # only when num_chroma differs from the decoder width
        rec.add(model.audio_enc_to_dec_proj, "generate.audio_enc_to_dec_proj", "generate")
    conditioning = []
    original = model._prepare_encoder_hidden_states_kwargs_for_generation

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        conditioning.append(result["encoder_hidden_states"].detach().clone())
        return result

    model._prepare_encoder_hidden_states_kwargs_for_generation = wrapped
    calls = capture_delay_pattern(model)
    rec.phase = "generate"
    audio = model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                           input_features=inputs["input_features"], do_sample=False, guidance_scale=g,
                           max_new_tokens=max_new)
    rec.phase = None
    delayed = calls[-1]
    tensors["generate.delayed_ids"] = delayed
    tensors["generate.codes"] = delayed[delayed != pad].reshape(batch, model.decoder.num_codebooks, -1)
    tensors["generate.audio"] = audio
    cond = conditioning[-1]
    tensors["teacher.conditioning"] = cond

    ids = delayed[:, :-1]
    t_ids = torch.cat([ids, ids], dim=0) if g > 1 else ids
    tensors["teacher.decoder_input_ids"] = t_ids
    add_decoder_hooks(rec, model.decoder, "teacher")
    rec.phase = "teacher"
    logits = model(decoder_input_ids=t_ids, encoder_hidden_states=cond).logits
    rec.phase = None
    tensors["teacher.logits.last"] = logits[:, -1, :]
    rec.remove()
    tensors.update(rec.tensors)

    header = {
        "kind": "musicgen_melody", "seed": seed, "guidance_scale": g, "max_new_tokens": max_new, "do_sample": False,
        "prompts": list(prompts), "melody_seconds": spec["melody_seconds"],
        "storage": storage_for_case(spec.get("storage", {})),
    }
    if spec.get("tokenizer_cases", False):
        header["tokenizer_cases"] = tokenizer_cases(processor.tokenizer, prompts)
    return header, tensors, ["melody.lengths", "melody.waveforms", "teacher.decoder_input_ids"]


def run_encodec(spec, model, model_dir):
    seed = spec["seed"]
    offsets = dict(DEFAULT_NOISE_OFFSETS, **spec.get("noise_seed_offsets", {}))
    batch = int(spec.get("batch", 1))
    seconds = spec.get("seconds", 0.25)
    bandwidth = spec.get("bandwidth", max(model.config.target_bandwidths))
    rec = Recorder()
    add_codec_hooks(rec, model, "")
    signal = codec_test_signal(batch, seconds_to_samples(seconds), seed + offsets["codec"])
    tensors = run_codec_test(rec, model, signal, bandwidth, "")
    rec.remove()
    tensors.update(rec.tensors)
    header = {"kind": "encodec", "seed": seed, "seconds": seconds, "batch": batch, "bandwidth": bandwidth}
    st = storage_for_case(spec.get("storage", {}))
    if st:
        header["storage"] = st
    return header, tensors, ["encode.input"]


# --------------------------------------------------------------------------------------------------------------
# Kinds without a model: resample, chroma
# --------------------------------------------------------------------------------------------------------------

def make_signal(desc, rate, seed):
    """A named test signal at `rate` Hz: float32 [S], or [C, S] when desc has "channels" (one desc per channel).
    Synthesized in float64, then rounded to float32."""
    if "channels" in desc:
        chans = [make_signal(dict(c, **{k: desc[k] for k in ("seconds", "samples") if k in desc and k not in c}),
                             rate, seed + 1000 * i) for i, c in enumerate(desc["channels"])]
        n = min(c.shape[0] for c in chans)
        return torch.stack([c[:n] for c in chans])
    kind = desc["signal"]
    if kind == "notes":  # a melody: consecutive sines, phase continuous
        parts, phase = [], 0.0
        for freq, sec in desc["notes"]:
            n = seconds_to_samples(sec, rate)
            t = torch.arange(n, dtype=torch.float64) / rate
            parts.append(desc.get("amplitude", 0.5) * torch.sin(phase + 2 * math.pi * freq * t))
            phase = (phase + 2 * math.pi * freq * n / rate) % (2 * math.pi)
        return torch.cat(parts).float()
    n = int(desc["samples"]) if "samples" in desc else seconds_to_samples(desc["seconds"], rate)
    t = torch.arange(n, dtype=torch.float64) / rate
    amp = desc.get("amplitude", 0.5)
    if kind == "chirp":  # linear sweep f0 -> f1 over the signal
        f0, f1 = desc.get("f0", 20.0), desc.get("f1", rate / 2.0)
        dur = n / rate
        x = amp * torch.sin(2 * math.pi * (f0 * t + (f1 - f0) / (2 * dur) * t * t))
    elif kind == "sine":
        x = amp * torch.sin(2 * math.pi * desc["freq"] * t + desc.get("phase", 0.0))
    elif kind == "tones":  # sum of sines [[freq, amplitude], ...]
        x = torch.zeros(n, dtype=torch.float64)
        for freq, a in desc["partials"]:
            x = x + a * torch.sin(2 * math.pi * freq * t)
    elif kind == "noise":  # white Gaussian noise
        x = amp * torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    elif kind == "silence":
        x = torch.zeros(n, dtype=torch.float64)
    elif kind == "impulse":
        x = torch.zeros(n, dtype=torch.float64)
        x[desc.get("at", 0)] = amp
    else:
        raise ValueError(f"unknown signal {kind}")
    return x.float()


def run_resample(spec):
    import torchaudio
    import torchaudio.functional as AF
    seed = spec["seed"]
    new_freq = int(spec.get("new_freq", SAMPLING_RATE))
    width = int(spec.get("lowpass_filter_width", 6))
    rolloff = float(spec.get("rolloff", 0.99))
    method = spec.get("resampling_method", "sinc_interpolation")
    tensors, signals = {}, []
    for si, desc in enumerate(spec["signals"]):
        for rate in spec["orig_freqs"]:
            name = f"{desc['name']}_{rate}"
            x = make_signal(desc, rate, seed + si)
            # the call as the reference makes it: default arguments unless the spec overrides them
            y = AF.resample(x, rate, new_freq, lowpass_filter_width=width, rolloff=rolloff,
                            resampling_method=method)
            tensors[f"{name}.input"] = x
            tensors[f"{name}.output"] = y.contiguous()
            signals.append({"name": name, "signal": desc["signal"], "orig_freq": rate, "new_freq": new_freq,
                            "input_samples": int(x.shape[-1]), "output_samples": int(y.shape[-1])})
    header = {
        "kind": "resample", "seed": seed, "torchaudio": torchaudio.__version__,
        "function": "torchaudio.functional.resample",
        "resampling_method": method, "window": "hann", "lowpass_filter_width": width, "rolloff": rolloff,
        "signals": signals,
    }
    inputs = sorted(k for k in tensors if k.endswith(".input"))
    return header, tensors, inputs


def normalized_chroma(fe, waveform):
    """The steps of MusicgenMelodyFeatureExtractor._torch_extract_fbank_features before its argmax one-hot: the
    extractor's own spectrogram and chroma filter bank, then the inf-norm normalization. [B, frames, 12]."""
    if waveform.shape[-1] < fe.n_fft:
        pad = fe.n_fft - waveform.shape[-1]
        waveform = torch.nn.functional.pad(waveform, (pad // 2, pad // 2 + pad % 2), "constant", 0)
    power = fe.spectrogram(waveform).squeeze(1)
    chroma = torch.einsum("cf, ...ft->...ct", fe.chroma_filters, power)
    chroma = torch.nn.functional.normalize(chroma, p=float("inf"), dim=-2, eps=1e-6)
    return chroma.transpose(1, 2).contiguous()


def run_chroma(spec, out_dir):
    from transformers import MusicgenMelodyFeatureExtractor
    seed = spec["seed"]
    fe = MusicgenMelodyFeatureExtractor(**spec.get("feature_extractor", {}))
    os.makedirs(os.path.join(out_dir, "model"), exist_ok=True)
    fe.save_pretrained(os.path.join(out_dir, "model"))
    with open(os.path.join(out_dir, "model", "preprocessor_config.json"), encoding="utf-8") as fh:
        fe_config = json.load(fh)

    original_extract = fe._torch_extract_fbank_features
    captured = []

    def extract_and_record(waveform):
        captured.append(normalized_chroma(fe, waveform))
        return original_extract(waveform)

    tensors, items = {}, []
    for ii, item in enumerate(spec["items"]):
        name = item["name"]
        rate = int(item.get("sampling_rate", fe.sampling_rate))
        waves = [make_signal(d, rate, seed + 100 * ii + j) for j, d in enumerate(item["signals"])]
        # how the waveforms are handed to the extractor: a list (batch), one 1-D array, or one tensor
        form = item.get("call", "list" if len(waves) > 1 else "array")
        if form == "list":
            audio = [w.numpy() for w in waves]
        elif form == "array":
            audio = waves[0].numpy()
        elif form == "tensor":
            audio = waves[0] if len(waves) == 1 else torch.stack(waves)
        else:
            raise ValueError(form)
        kwargs = dict(return_tensors="pt", sampling_rate=rate)
        feats = fe(audio, **kwargs)["input_features"]                  # the reference, untouched
        fe._torch_extract_fbank_features = extract_and_record           # same call again, recording the chroma
        again = fe(audio, **kwargs)["input_features"]
        fe._torch_extract_fbank_features = original_extract
        raw = captured.pop()
        if not torch.equal(again, feats) or not torch.equal(
                torch.zeros_like(raw).scatter_(-1, raw.argmax(-1, keepdim=True), 1.0), feats):
            raise AssertionError(f"{name}: recorded chroma does not reproduce input_features")
        longest = max(w.shape[-1] for w in waves)
        padded = torch.zeros((len(waves),) + tuple(waves[0].shape[:-1]) + (longest,))
        for i, w in enumerate(waves):
            padded[i, ..., : w.shape[-1]] = w
        tensors[f"{name}.waveforms"] = padded
        tensors[f"{name}.lengths"] = torch.tensor([w.shape[-1] for w in waves], dtype=torch.int64)
        tensors[f"{name}.input_features"] = feats.float().contiguous()
        tensors[f"{name}.chroma"] = raw
        top2 = torch.topk(raw, 2, dim=-1).values
        zero = top2[..., 0] == 0
        rel = (top2[..., 0] - top2[..., 1]) / top2[..., 0].clamp_min(1e-30)
        items.append({
            "name": name, "description": item.get("description", ""), "sampling_rate": rate,
            "batch": len(waves), "channels": int(waves[0].shape[0]) if waves[0].dim() == 2 else 1,
            "lengths": [int(w.shape[-1]) for w in waves], "call": form,
            "frames": int(feats.shape[1]),
            # frames whose chroma is all zero: exact ties, argmax takes bin 0
            "zero_frames": int(zero.sum()),
            # smallest (top1 - top2) / top1 over the other frames: how close the one-hot is to flipping
            "min_relative_margin": float(rel[~zero].min()) if bool((~zero).any()) else None,
        })
    header = {"kind": "chroma", "seed": seed, "feature_extractor": "MusicgenMelodyFeatureExtractor",
              "preprocessor_config": fe_config, "items": items}
    inputs = sorted(k for k in tensors if k.endswith(".waveforms") or k.endswith(".lengths"))
    return header, tensors, inputs


# --------------------------------------------------------------------------------------------------------------
# Writing a case
# --------------------------------------------------------------------------------------------------------------

def to_storable(t):
    t = t.detach().cpu().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16, torch.float64, torch.float32):
        return t.float()
    if t.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool, torch.int64):
        return t.long()
    raise TypeError(f"cannot store {t.dtype}")


def write_case(out_dir, header, tensors, inputs):
    import transformers
    from safetensors.torch import save_file
    tensors = {k: to_storable(v) for k, v in tensors.items()}
    case = {"kind": header["kind"], "transformers": transformers.__version__, "torch": torch.__version__}
    case.update({k: v for k, v in header.items() if k != "kind"})
    case["tensors"] = {k: {"dtype": "float32" if v.dtype == torch.float32 else "int64", "shape": list(v.shape)}
                       for k, v in sorted(tensors.items())}
    missing = [k for k in inputs if k not in tensors]
    if missing:
        raise RuntimeError(f"inputs not recorded: {missing}")
    case["inputs"] = sorted(inputs)
    case["outputs"] = sorted(k for k in tensors if k not in inputs)
    with open(os.path.join(out_dir, "case.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(case, indent=1, ensure_ascii=False))
    save_file(tensors, os.path.join(out_dir, "expected.safetensors"), metadata={"format": "golden"})


def load_spec(path, overrides):
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    spec_dir = os.path.dirname(os.path.abspath(path))
    if overrides.seed is not None:
        spec["seed"] = overrides.seed
    if overrides.from_checkpoint:
        spec["from_checkpoint"] = os.path.abspath(overrides.from_checkpoint)
    storage = dict(spec.get("storage", {}))
    if overrides.dtype:
        storage["dtype"] = overrides.dtype
    if overrides.shard:
        storage["shard"] = overrides.shard
    if overrides.parametrized_weight_norm:
        storage["parametrized_weight_norm"] = True
    spec["storage"] = storage
    return spec, spec_dir


def make_case(spec, spec_dir, out_dir):
    torch.set_grad_enabled(False)
    os.makedirs(out_dir, exist_ok=True)
    kind = spec["kind"]
    print(f"making {spec.get('name', out_dir)} ({kind}) -> {out_dir}")
    if kind == "resample":
        header, tensors, inputs = run_resample(spec)
    elif kind == "chroma":
        header, tensors, inputs = run_chroma(spec, out_dir)
    else:
        model, model_dir, stage = prepare_checkpoint(spec, out_dir, spec_dir)
        try:
            runner = {"musicgen": run_musicgen, "musicgen_melody": run_musicgen_melody, "encodec": run_encodec}[kind]
            header, tensors, inputs = runner(spec, model, stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    write_case(out_dir, header, tensors, inputs)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out_dir) for f in fs)
    print(f"  wrote {len(tensors)} tensors, case folder {total / 1e6:.2f} MB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="case spec (JSON); see README.md")
    ap.add_argument("--out", required=True, help="case folder to write")
    ap.add_argument("--from-checkpoint", help="use this checkpoint folder instead of seeded random weights")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--dtype", choices=sorted(_DTYPES))
    ap.add_argument("--shard", help="max shard size, e.g. 1200KB (sharded safetensors + index)")
    ap.add_argument("--parametrized-weight-norm", action="store_true",
                    help="store weight norm as parametrizations.weight.original0/original1")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch intra-op threads (default 2, as the original cases: other counts change last bits)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    spec, spec_dir = load_spec(args.spec, args)
    make_case(spec, spec_dir, os.path.abspath(args.out))


if __name__ == "__main__":
    main()
