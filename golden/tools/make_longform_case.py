#!/usr/bin/env python3
"""Long-form golden cases: MusicGen beyond its window, composed from the reference's `generate` the way audiocraft
composes its language model (audiocraft/models/genmodel.py, `BaseGenModel._generate_tokens`, the `else:` branch
for `self.duration > self.max_duration`; commit 896ec7c of facebookresearch/audiocraft, lines 232-259).

Each window is one greedy `MusicgenForConditionalGeneration.generate` call. The first window starts from the
decoder start token (or, for a continuation, from the processed audio prompt, as `generate` takes `input_values`);
every later window gets the last `window - stride` seconds of the previous window's codes as `decoder_input_ids`,
which `generate` treats exactly as the codes of an audio prompt (start token prepended, delay pattern built over
them). The window arithmetic is audiocraft's, line for line (see `longform_tokens`).

The case reuses the checkpoint of an existing case (`"model"` in case.json, a path relative to the case folder),
so only case.json and expected.safetensors are written. Recorded tensors:

    input_ids, attention_mask        [B, T]       the processor's tokens (checked by the text encoder check)
    input_values, padding_mask       [B, C, S]    the processed audio prompt (continuation only; inputs)
    longform.codes                   [B, K, F]    every window's new frames, concatenated (F = int(duration·50))
    longform.audio                   [B, C, F·hop] the codec's decode of longform.codes (stereo: per channel)

Usage:
    /usr/bin/python3 make_longform_case.py SPEC.json --out DIR

Spec: {"name", "model": "../../musicgen-prompt/model" (relative to the spec), "case_model": "../musicgen-prompt/model"
(written to case.json, relative to the case folder), "seed", "prompts", "guidance_scale", "duration", "window",
"extend_stride", "audio_prompt_seconds" (optional)}.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_case as mc  # noqa: E402  (sets up the reference's import paths)

import numpy as np  # noqa: E402
import torch  # noqa: E402


def window_generate(model, text_kwargs, prompt_tokens, max_gen_len, audio_prompt, calls, melody_kwargs=None):
    """One window: the codes [B, K, max_gen_len] of `generate`, the prompt (codes or audio) included."""
    k_channel = model.decoder.num_codebooks // model.decoder.config.audio_channels
    pad = model.generation_config.pad_token_id
    kwargs = dict(text_kwargs, **(melody_kwargs or {}))
    if audio_prompt is not None:  # the first window of a continuation: generate encodes the audio itself
        kwargs.update(input_values=audio_prompt["input_values"], padding_mask=audio_prompt["padding_mask"])
        prompt_length = audio_prompt["frames"]
    elif prompt_tokens is not None:
        batch, codebooks, prompt_length = prompt_tokens.shape
        kwargs["decoder_input_ids"] = prompt_tokens.reshape(batch * codebooks, prompt_length)
    else:
        prompt_length = 0
    # max_length = 1 + P + new; the reverted codes have max_length - k_channel frames.
    new_tokens = max_gen_len - prompt_length + k_channel - 1
    model.generate(**kwargs, do_sample=False, max_new_tokens=new_tokens)
    delayed = calls[-1]
    batch = delayed.shape[0] // model.decoder.num_codebooks
    codes = delayed[delayed != pad].reshape(batch, model.decoder.num_codebooks, -1)
    assert codes.shape[-1] == max_gen_len, (codes.shape, max_gen_len)
    return codes


def longform_tokens(model, text_kwargs, duration, max_duration, extend_stride, audio_prompt, calls, melody=None):
    """audiocraft's _generate_tokens for duration > max_duration, with lm.generate replaced by window_generate.
    melody(initial_position, target_length) gives a melody model's input_features for a window: audiocraft's
    MusicGen._generate_tokens (audiocraft/models/musicgen.py, lines 309-324) wraps the tune from the window's offset."""
    frame_rate = model.config.audio_encoder.frame_rate
    total_gen_len = int(duration * frame_rate)
    current_gen_offset = 0
    windows = []
    all_tokens = []
    prompt_tokens = None
    if audio_prompt is None:
        prompt_length = 0
    else:
        # audiocraft appends the prompt tokens themselves; generate returns their re-encoding, which is the same.
        prompt_length = audio_prompt["frames"]
    stride_tokens = int(frame_rate * extend_stride)
    while current_gen_offset + prompt_length < total_gen_len:
        time_offset = current_gen_offset / frame_rate
        chunk_duration = min(duration - time_offset, max_duration)
        max_gen_len = int(chunk_duration * frame_rate)
        first_with_audio = audio_prompt is not None and current_gen_offset == 0
        melody_kwargs = None
        if melody is not None:
            initial_position = int(time_offset * mc.SAMPLING_RATE)
            wav_target_length = int(max_duration * mc.SAMPLING_RATE)
            melody_kwargs = {"input_features": melody(initial_position, wav_target_length)}
        gen_tokens = window_generate(model, text_kwargs, prompt_tokens, max_gen_len,
                                     audio_prompt if first_with_audio else None, calls, melody_kwargs)
        windows.append({"offset": current_gen_offset, "prompt_frames": prompt_length, "frames": max_gen_len})
        if first_with_audio:
            all_tokens.append(gen_tokens)  # the re-encoded prompt, then the new frames
        elif prompt_tokens is None:
            all_tokens.append(gen_tokens)
        else:
            all_tokens.append(gen_tokens[:, :, prompt_tokens.shape[-1]:])
        prompt_tokens = gen_tokens[:, :, stride_tokens:]
        prompt_length = prompt_tokens.shape[-1]
        current_gen_offset += stride_tokens
    return torch.cat(all_tokens, dim=-1), windows


def decode_audio(model, codes):
    """The codec's decode of codes [B, K, F], per channel for a stereo model (as generate decodes)."""
    codec = model.audio_encoder
    if model.decoder.config.audio_channels == 1:
        return codec.decode(codes[None], [None]).audio_values
    left = codec.decode(codes[None, :, ::2], [None]).audio_values
    right = codec.decode(codes[None, :, 1::2], [None]).audio_values
    return torch.cat([left, right], dim=1)


def make(spec, spec_dir, out_dir):
    from transformers import MusicgenForConditionalGeneration, MusicgenMelodyForConditionalGeneration
    torch.set_grad_enabled(False)
    model_dir = os.path.normpath(os.path.join(spec_dir, spec["model"]))
    kind = "musicgen_melody" if spec.get("melody_seconds") else "musicgen"
    model_class = MusicgenMelodyForConditionalGeneration if kind == "musicgen_melody" else MusicgenForConditionalGeneration
    model = model_class.from_pretrained(model_dir).eval()
    processor = mc.load_processor(kind, model_dir)
    prompts = spec["prompts"]
    g = float(spec.get("guidance_scale", 3.0))
    tensors, inputs = {}, []

    proc_kwargs = dict(text=prompts, padding=True, return_tensors="pt")
    if spec.get("audio_prompt_seconds"):
        waves = []
        for i, sec in enumerate(spec["audio_prompt_seconds"]):
            w = mc.single_test_signal(mc.seconds_to_samples(sec), spec["seed"] + 7 + i)
            if model.config.decoder.audio_channels == 2:
                w = torch.stack([w, mc.single_test_signal(w.shape[0], spec["seed"] + 107 + i, f0=165.0)])
            waves.append(w.numpy())
        proc_kwargs.update(audio=waves, sampling_rate=mc.SAMPLING_RATE)
    processed = processor(**proc_kwargs)
    tensors["input_ids"] = processed["input_ids"].long()
    tensors["attention_mask"] = processed["attention_mask"].long()
    text_kwargs = dict(input_ids=processed["input_ids"], attention_mask=processed["attention_mask"], guidance_scale=g)
    audio_prompt = None
    if "input_values" in processed:
        tensors["input_values"] = processed["input_values"].float()
        tensors["padding_mask"] = processed["padding_mask"].long()
        inputs += ["input_values", "padding_mask"]
        hop = int(np.prod(model.config.audio_encoder.upsampling_ratios))
        frames = -(-processed["input_values"].shape[-1] // hop)
        audio_prompt = dict(input_values=processed["input_values"], padding_mask=processed["padding_mask"],
                            frames=frames)

    melody = None
    if kind == "musicgen_melody":
        tunes = [mc.single_test_signal(mc.seconds_to_samples(sec), spec["seed"] + 3 + i)
                 for i, sec in enumerate(spec["melody_seconds"])]
        padded = torch.zeros(len(tunes), max(t.shape[0] for t in tunes))
        for i, t in enumerate(tunes):
            padded[i, : t.shape[0]] = t
        tensors["longform.melody.waveforms"] = padded
        tensors["longform.melody.lengths"] = torch.tensor([t.shape[0] for t in tunes], dtype=torch.int64)
        inputs += ["longform.melody.waveforms", "longform.melody.lengths"]

        def melody(initial_position, wav_target_length):
            positions = torch.arange(initial_position, initial_position + wav_target_length)
            windows = [t[positions % t.shape[0]].numpy() for t in tunes]
            return processor(audio=windows, padding=True, sampling_rate=mc.SAMPLING_RATE,
                             return_tensors="pt")["input_features"]

    calls = mc.capture_delay_pattern(model)
    codes, windows = longform_tokens(model, text_kwargs, float(spec["duration"]), float(spec["window"]),
                                     float(spec["extend_stride"]), audio_prompt, calls, melody)
    tensors["longform.codes"] = codes
    tensors["longform.audio"] = decode_audio(model, codes)

    header = {
        "kind": kind, "model": spec["case_model"], "seed": spec["seed"], "guidance_scale": g,
        "do_sample": False, "prompts": list(prompts), "audio_channels": model.config.decoder.audio_channels,
        "longform": {"duration": spec["duration"], "window": spec["window"], "extend_stride": spec["extend_stride"],
                     "windows": windows,
                     "follows": "audiocraft/models/genmodel.py BaseGenModel._generate_tokens (896ec7c, lines 204-259)"},
    }
    if spec.get("audio_prompt_seconds"):
        header["audio_prompt_seconds"] = spec["audio_prompt_seconds"]
    if spec.get("melody_seconds"):
        header["melody_seconds"] = spec["melody_seconds"]
    os.makedirs(out_dir, exist_ok=True)
    mc.write_case(out_dir, header, tensors, inputs)
    total = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    print(f"{spec['name']}: windows {windows}, codes {list(codes.shape)}, case folder {total / 1e6:.2f} MB")


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
