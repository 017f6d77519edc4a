"""Train MobileNetV3-small on lite_data (or evaluate a checkpoint with ``--test-only``).

Modes, combinable with data parallelism (start with ``python -m paddle.distributed.launch``):

* plain fp32;
* ``--amp_level O1|O2``: mixed precision, fp16 on GPU, bf16 on CPU (see mixed_precision.py);
* ``--pact_quant``: PACT int8 quantization-aware training (see pact.py);
* ``--fpgm --prune-ratio R``: FPGM-prune the (pretrained) network, then fine-tune (see fpgm.py).

Every iteration logs ``loss``, ``avg_reader_cost``, ``avg_batch_cost`` and ``avg_ips`` (and ``ips:``, the
token benchmark_train's analysis.py reads with ``--keyword ips:``); each
epoch ends with an ``[Eval]`` line and the run with the final top-1 on lite val. Checkpoints go
to ``<output-dir>/latest.pdparams`` (and ``best.pdparams``); the log is copied to
``<output-dir>/train.log``.

    python reference_model/train.py --data-path=./lite_data --epochs=5 --batch-size=16 --output-dir=out
    python reference_model/train.py --data-path=./lite_data --test-only --pretrained=out/latest
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import checkpoint
import fpgm
import numpy as np
import pact
import paddle
import paddle.distributed as dist
import paddle.nn.functional as F
from common import Logger, add_bool_flag, choose_device, fail, seed_everything, str2bool, world
from data import ListDataset
from mixed_precision import Amp
from mobilenetv3 import count_params


def get_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MobileNetV3-small training / evaluation (TIPC reference model)")
    p.add_argument("--data-path", default="./lite_data", help="dataset root with train_list.txt / val_list.txt")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("-b", "--batch-size", type=int, default=16, help="per-process batch size")
    p.add_argument("--lr", type=float, default=0.005, help="peak learning rate")
    p.add_argument("--opt", default="adamw", choices=("adamw", "momentum"))
    p.add_argument("--weight-decay", "--wd", type=float, default=1e-4)
    p.add_argument("--warmup-epochs", type=float, default=0.5)
    p.add_argument("--output-dir", default="./output", help="where checkpoints and train.log go")
    p.add_argument("--pretrained", default=None, help="initial weights (.pdparams, suffix optional); "
                   "with --test-only, the checkpoint to evaluate")
    p.add_argument("--device", default=None, help="cpu or gpu (default: gpu when available)")
    p.add_argument("--use-gpu", "--use_gpu", type=str2bool, default=None, help="True/False; overrides --device")
    p.add_argument("--amp_level", "--amp-level", default=None, help="O1 or O2: mixed precision")
    add_bool_flag(p, "--pact_quant", "--pact-quant", help="PACT int8 quantization-aware training")
    add_bool_flag(p, "--fpgm", help="FPGM-prune before training (ratio: --prune-ratio)")
    p.add_argument("--prune-ratio", "--prune_ratio", type=float, default=None,
                   help="fraction of filters FPGM removes per group (implies --fpgm; default 0.3)")
    add_bool_flag(p, "--test-only", "--test_only", help="only evaluate --pretrained on the val list")
    p.add_argument("--print-freq", type=int, default=1, help="log every N iterations")
    p.add_argument("--workers", "-j", type=int, default=0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--max-iters", type=int, default=0, help="stop after N iterations in total (0: no limit)")
    args = p.parse_args(argv)
    if args.prune_ratio is not None:
        args.fpgm = True
    elif args.fpgm:
        args.prune_ratio = 0.3
    return args


def accuracy(logits: paddle.Tensor, labels: paddle.Tensor, topk: tuple[int, ...] = (1, 5)) -> list[float]:
    k = min(max(topk), logits.shape[1])
    pred = paddle.topk(logits, k=k, axis=1)[1].numpy()
    y = labels.numpy().reshape(-1, 1)
    return [float((pred[:, : min(t, k)] == y).any(axis=1).mean()) for t in topk]


@paddle.no_grad()
def evaluate(model: paddle.nn.Layer, loader: paddle.io.DataLoader) -> dict[str, float]:
    model.eval()
    total, loss_sum, top1, top5 = 0, 0.0, 0.0, 0.0
    for images, labels in loader:
        logits = model(images).astype("float32")
        n = images.shape[0]
        loss_sum += float(F.cross_entropy(logits, labels)) * n
        a1, a5 = accuracy(logits, labels)
        top1 += a1 * n
        top5 += a5 * n
        total += n
    model.train()
    return {"loss": loss_sum / total, "acc_top1": top1 / total, "acc_top5": top5 / total, "samples": total}


def eval_line(prefix: str, m: dict[str, float]) -> str:
    return (f"[Eval] {prefix}loss: {m['loss']:.5f}, acc_top1: {m['acc_top1']:.5f}, "
            f"acc_top5: {m['acc_top5']:.5f}, samples: {int(m['samples'])}")


def make_optimizer(args: argparse.Namespace, model: paddle.nn.Layer, steps_per_epoch: int
                   ) -> tuple[paddle.optimizer.Optimizer, paddle.optimizer.lr.LRScheduler]:
    total = max(1, args.epochs * steps_per_epoch)
    warmup = min(total - 1, round(args.warmup_epochs * steps_per_epoch))
    sched: paddle.optimizer.lr.LRScheduler = paddle.optimizer.lr.CosineAnnealingDecay(
        args.lr, T_max=max(1, total - warmup), eta_min=args.lr * 0.01)
    if warmup > 0:
        sched = paddle.optimizer.lr.LinearWarmup(sched, warmup, args.lr * 0.1, args.lr)
    params = model.parameters()
    if args.opt == "adamw":
        opt: paddle.optimizer.Optimizer = paddle.optimizer.AdamW(
            learning_rate=sched, parameters=params, weight_decay=args.weight_decay, multi_precision=True)
    else:
        opt = paddle.optimizer.Momentum(learning_rate=sched, momentum=0.9, parameters=params,
                                        weight_decay=args.weight_decay, multi_precision=True)
    return opt, sched


def main(argv: list[str] | None = None) -> float:
    args = get_args(argv)
    rank, nranks = world()
    log = Logger(None if args.test_only else Path(args.output_dir) / "train.log", enabled=rank == 0)
    device = choose_device(args.use_gpu, args.device, log)
    log.print(f"args: {vars(args)}")
    log.print(f"paddle {paddle.__version__}, device {device}, world size {nranks}")
    if nranks > 1:
        dist.init_parallel_env()
        log.print(f"data parallel: {nranks} processes, backend {'nccl' if device == 'gpu' else 'gloo'}")
    seed_everything(args.seed)
    if args.pact_quant and args.amp_level not in (None, "", "O0"):
        fail("--pact_quant and --amp_level cannot be combined")

    val_set = ListDataset(args.data_path, "val_list.txt", train=False)
    val_loader = paddle.io.DataLoader(val_set, batch_size=max(args.batch_size, 32), shuffle=False,
                                      num_workers=args.workers)

    state = None
    if args.pretrained:
        try:
            state = checkpoint.load_state(args.pretrained)
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))

    if args.test_only:
        if state is None:
            fail("--test-only needs --pretrained=<checkpoint>")
        model = checkpoint.build(state, dropout=args.dropout)
        log.print(f"evaluating {checkpoint.resolve(args.pretrained)} ({checkpoint.describe(model)}) on {args.data_path}")
        metrics = evaluate(model, val_loader)
        log.print(eval_line("", metrics))
        return metrics["acc_top1"]

    train_set = ListDataset(args.data_path, "train_list.txt", train=True, seed=args.seed)
    sampler = paddle.io.DistributedBatchSampler(train_set, batch_size=args.batch_size, shuffle=True, drop_last=False)
    loader = paddle.io.DataLoader(train_set, batch_sampler=sampler, num_workers=args.workers)

    model = checkpoint.build(state, num_classes=train_set.num_classes, dropout=args.dropout)
    if state is not None:
        log.print(f"initialised from {checkpoint.resolve(args.pretrained)} ({checkpoint.describe(model)})")
    if args.fpgm:
        if pact.is_pact_state(state or {}):
            fail("FPGM pruning of a PACT checkpoint is not supported; prune the float model first")
        before = count_params(model)
        model, summary = fpgm.prune(model, args.prune_ratio)
        log.print(f"FPGM: pruned {args.prune_ratio:.0%} of the filters in {len(summary)} groups; "
                  f"params {before} -> {count_params(model)}; widths "
                  + ", ".join(f"{k} {a}->{b}" for k, a, b in ((k, *v) for k, v in summary.items())))
    if args.pact_quant and not pact.is_pact_state(state or {}):
        pact.quantize(model)
        calib = paddle.to_tensor(np.stack([train_set.images[i] for i in range(min(64, len(train_set)))]))
        pact.calibrate(model, [calib])
        log.print(f"PACT: {len(pact.quant_layers(model))} conv/linear layers fake-quantized to int8 "
                  "(per-channel weights, PACT-clipped activations); alphas calibrated on 64 train images")
    log.print(f"model: MobileNetV3-small ({checkpoint.describe(model)}), {count_params(model)} parameters")

    optimizer, sched = make_optimizer(args, model, len(loader))
    amp = Amp(args.amp_level, device)
    model, optimizer = amp.prepare(model, optimizer)
    log.print(amp.describe())
    if nranks > 1:
        model = paddle.DataParallel(model)

    log.print(f"Start training: {len(train_set)} train / {len(val_set)} val images, "
              f"{len(loader)} iterations per epoch, {args.epochs} epochs")
    start = time.time()
    best, step = -1.0, 0
    metrics: dict[str, float] = {}
    for epoch in range(args.epochs):
        model.train()
        train_set.set_epoch(epoch)
        sampler.set_epoch(epoch)
        reader_cost = batch_cost = 0.0
        samples = batches = 0
        top1 = top5 = 0.0
        tic = time.time()
        for it, (images, labels) in enumerate(loader):
            reader_cost += time.time() - tic
            with amp.autocast():
                logits = model(images)
                loss = F.cross_entropy(logits.astype("float32"), labels)
            lr = optimizer.get_lr()
            amp.step(loss, optimizer)
            sched.step()
            a1, a5 = accuracy(logits.astype("float32"), labels)
            loss_value = float(loss)
            batch_cost += time.time() - tic
            samples += images.shape[0]
            batches += 1
            top1 += a1
            top5 += a5
            step += 1
            if not math.isfinite(loss_value):
                fail(f"loss is {loss_value} at epoch {epoch}, iter {it}", code=3)
            if it % args.print_freq == 0 or it == len(loader) - 1:
                log.print(
                    f"[Epoch {epoch}, iter: {it}] top1: {top1 / batches:.5f}, top5: {top5 / batches:.5f}, "
                    f"lr: {lr:.6f}, loss: {loss_value:.5f}, "
                    f"avg_reader_cost: {reader_cost / batches:.5f} sec, avg_batch_cost: {batch_cost / batches:.5f} sec, "
                    f"avg_samples: {samples / batches:.1f}, avg_ips: {samples / max(batch_cost, 1e-9):.5f} images/sec, "
                    f"ips: {samples / max(batch_cost, 1e-9):.5f} samples/s")
                reader_cost = batch_cost = 0.0
                samples = batches = 0
                top1 = top5 = 0.0
            if args.max_iters and step >= args.max_iters:
                break
            tic = time.time()
        metrics = evaluate(model, val_loader)
        log.print(eval_line(f"epoch: {epoch}, ", metrics))
        if rank == 0:
            checkpoint.save(model, optimizer, args.output_dir, "latest")
            if metrics["acc_top1"] > best:
                best = metrics["acc_top1"]
                checkpoint.save(model, None, args.output_dir, "best")
        if args.max_iters and step >= args.max_iters:
            break
    elapsed = time.time() - start
    log.print(f"Training time {elapsed:.1f} s; checkpoint {Path(args.output_dir) / 'latest.pdparams'}")
    log.print(f"[Eval] final top-1 on lite val: acc_top1: {metrics.get('acc_top1', float('nan')):.5f} "
              f"(best {best:.5f}, chance {1.0 / train_set.num_classes:.5f})")
    log.close()
    return metrics.get("acc_top1", 0.0)


if __name__ == "__main__":
    main()
