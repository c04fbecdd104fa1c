"""The controller: schedule, exploration, hand-written gradients, replay, training, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import timm.scheduler
import torch
import yaml

from task2sim.cli import main
from task2sim.controller.backprop import (
    PlainFirstLayer,
    PolicyBackprop,
    reinforce_grad,
    reinforce_loss,
)
from task2sim.controller.baselines import baselines
from task2sim.controller.policy import Policy, bits_to_indices, indices_to_bits
from task2sim.controller.train import ReplayMemory, explore_eps, lr_at, predict, train_policy
from task2sim.errors import Task2SimError
from task2sim.params import ControllerTraining
from task2sim.reward_table import parse_reward_table, score_predictions
from task2sim.sim.config import NUM_CONFIGS, PARAM_NAMES, index_to_bits, index_to_key


def test_lr_follows_the_official_timm_step_schedule():
    """The official loop: timm 0.4.12's StepLRScheduler (decay counted from epoch 0: later timm
    calls that warmup_prefix=False), `scheduler.step(epoch)` after every epoch."""
    cfg = ControllerTraining()
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=cfg.lr)
    scheduler = timm.scheduler.StepLRScheduler(
        optimizer,
        decay_t=cfg.decay_epochs,
        decay_rate=cfg.decay_rate,
        warmup_lr_init=cfg.warmup_lr,
        warmup_t=cfg.warmup_epochs,
        warmup_prefix=False,
    )
    for epoch in range(cfg.epochs):
        assert lr_at(epoch, cfg) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
        scheduler.step(epoch)
    assert lr_at(0, cfg) == cfg.warmup_lr and lr_at(600, cfg) == pytest.approx(cfg.lr / 10)


def test_exploration_eps_decays_every_five_epochs():
    cfg = ControllerTraining()
    assert [explore_eps(e, cfg) for e in (0, 4, 5, 9, 10)] == pytest.approx(
        [0.4, 0.4, 0.2, 0.2, 0.4 / 3]
    )


def test_bits_and_indices_match_the_config_module():
    indices = torch.arange(NUM_CONFIGS)
    bits = indices_to_bits(indices)
    assert bits.tolist() == [list(index_to_bits(i)) for i in range(NUM_CONFIGS)]
    assert torch.equal(bits_to_indices(bits), indices)


@pytest.mark.parametrize("loss", ["per_task", "official"])
def test_hand_written_gradients_match_autograd(loss):
    torch.manual_seed(0)
    policy = Policy(in_dim=12, hidden=16)
    x = torch.randn(5, 12)
    rows = torch.tensor([3, 0, 4, 1])
    net = PolicyBackprop(policy, PlainFirstLayer(policy, x))
    cache = net.forward(rows)
    best = cache.probs.argmax(-1)
    shift = 0.3 * (1 - 2 * torch.nn.functional.one_hot(best, 2).float())
    actions = torch.randint(0, 2, (4, 8))
    advantage = torch.tensor([1.5, -2.0, 0.0, 3.0])
    net.backward(cache, reinforce_grad(cache.probs + shift, actions, advantage, loss))
    manual = {name: p.grad.clone() for name, p in policy.named_parameters()}

    policy.zero_grad(set_to_none=True)
    reinforce_loss(policy(x[rows]) + shift, actions, advantage, loss).backward()
    for name, p in policy.named_parameters():
        torch.testing.assert_close(manual[name], p.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_official_loss_is_the_all_pairs_form():
    q = torch.rand(3, 8, 2).softmax(-1)
    actions = torch.randint(0, 2, (3, 8))
    advantage = torch.tensor([1.0, -1.0, 2.0])
    nlp = -torch.stack(
        [
            torch.stack([q[i, k, actions[j, k]].log() for k in range(8)]).sum()
            for i in range(3)
            for j in range(3)
        ]
    ).view(3, 3)
    expected = (advantage[None, :] * nlp).mean()  # [i, j]: task i's policy, task j's action
    torch.testing.assert_close(reinforce_loss(q, actions, advantage, "official"), expected)
    per_task = (advantage * nlp.diagonal()).mean()
    torch.testing.assert_close(reinforce_loss(q, actions, advantage, "per_task"), per_task)


def test_replay_memory_keeps_the_first_best():
    memory = ReplayMemory(2)
    memory.add([0, 1], [5, 7], [10.0, 3.0])
    memory.add([0, 1], [6, 8], [10.0, 4.0])  # a tie for task 0, better for task 1
    assert memory.best_index == [5, 8]
    assert memory.tried == [{5, 6}, {7, 8}]


def _synthetic_problem(n_tasks: int, dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Tasks whose best config follows from their vector: reward = 100 - 10 * Hamming distance."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n_tasks, dim, generator=gen)
    best = torch.randint(0, NUM_CONFIGS, (n_tasks,), generator=gen)
    all_bits = indices_to_bits(torch.arange(NUM_CONFIGS))
    distance = (indices_to_bits(best)[:, None, :] != all_bits[None]).sum(-1)
    return torch.nn.functional.normalize(x, dim=1), (100.0 - 10.0 * distance).double()


def test_subspace_first_layer_trains_like_the_plain_one():
    x, rewards = _synthetic_problem(6, 40, seed=1)
    cfg = ControllerTraining(hidden=32, epochs=70, warmup_epochs=5, imitation_start_epoch=5)
    fast, _ = train_policy(x, rewards, cfg, seed=3)
    plain, _ = train_policy(x, rewards, cfg, seed=3, exact_first_layer=True)
    for (name, a), b in zip(fast.state_dict().items(), plain.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5, msg=name)
    assert torch.equal(predict(fast, x)[1], predict(plain, x)[1])


@pytest.mark.parametrize("loss", ["per_task", "official"])
def test_controller_learns_on_seen_tasks(loss):
    """per_task finds each task's own best set; the official all-pairs loss mixes the tasks'
    advantages, so it converges to one shared set: at least the best fixed set on these tasks."""
    x, rewards = _synthetic_problem(8, 64, seed=2)
    cfg = ControllerTraining(epochs=150, loss=loss)
    policy, log = train_policy(x, rewards, cfg, seed=0)
    _, configs = predict(policy, x)
    reached = rewards[torch.arange(8), configs].mean().item()
    random_mean, best_fixed = rewards.mean().item(), rewards.mean(0).max().item()
    assert best_fixed < 100  # no single set is best for every task
    if loss == "per_task":
        assert reached > random_mean + 0.8 * (100 - random_mean)
        assert len(set(configs.tolist())) > 1
    else:
        assert reached >= best_fixed
    assert log.updates == 50 * 2 + 100 * 2 * 6  # 2 batches/epoch, imitation from epoch 50
    assert all(n > 1 for n in log.configs_tried)


def test_same_seed_same_policy():
    x, rewards = _synthetic_problem(4, 16, seed=4)
    cfg = ControllerTraining(epochs=20, hidden=8)
    a, _ = train_policy(x, rewards, cfg, seed=5)
    b, _ = train_policy(x, rewards, cfg, seed=5)
    c, _ = train_policy(x, rewards, cfg, seed=6)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.fc1.weight, c.fc1.weight)


def _table(values: np.ndarray, names: list[str]) -> dict:
    return {
        name: {index_to_key(c): float(values[t, c]) for c in range(NUM_CONFIGS)}
        for t, name in enumerate(names)
    }


def test_reward_table_is_validated():
    names = ["a", "b"]
    good = _table(np.full((2, NUM_CONFIGS), 50.0), names)
    assert parse_reward_table(good, "t").values.shape == (2, NUM_CONFIGS)
    missing = json.loads(json.dumps(good))
    del missing["a"][index_to_key(7)]
    with pytest.raises(Task2SimError, match="task 'a' has 255 configs, missing 1"):
        parse_reward_table(missing, "t")
    too_big = json.loads(json.dumps(good))
    too_big["b"][index_to_key(3)] = 120
    with pytest.raises(Task2SimError, match=r"not an accuracy in \[0, 100\]"):
        parse_reward_table(too_big, "t")
    bad_key = json.loads(json.dumps(good))
    bad_key["a"]["1_1_1_1_1_2_0_1_1"] = 3.0
    with pytest.raises(Task2SimError, match="outside the 256 Task2Sim sets"):
        parse_reward_table(bad_key, "t")
    with pytest.raises(Task2SimError, match="no task c"):
        parse_reward_table(good, "t").rows(["c"])


def test_baselines_read_the_right_cells():
    configs = np.arange(NUM_CONFIGS, dtype=float)
    values = np.stack([configs / 255 * 100, 100 - configs / 255 * 100, np.full(256, 40.0)])
    table = parse_reward_table(_table(values, ["s1", "s2", "u"]), "t")
    out = baselines(table, ["s1"], ["s2", "u"])
    assert out["domain_randomization"]["config"] == 255
    assert out["domain_randomization"]["seen"] == pytest.approx(100)
    assert out["domain_randomization"]["unseen"] == pytest.approx((0 + 40) / 2)
    assert out["all_off"]["seen"] == pytest.approx(0)
    assert out["random"]["seen"] == pytest.approx(values[0].mean())
    assert out["best_fixed_on_seen"]["config"] == 255
    assert out["oracle"]["unseen"] == pytest.approx((100 + 40) / 2)


def test_score_reports_agreement_per_head():
    values = np.zeros((2, NUM_CONFIGS))
    values[0, 0b10000000] = 90.0  # best: only pose_rot on
    values[1, 0b00000001] = 80.0  # best: only materials on
    score = score_predictions(values, np.array([0b10000001, 0b00000001]))
    assert score["reward"] == pytest.approx(40.0) and score["oracle"] == pytest.approx(85.0)
    assert score["head_agreement"] == pytest.approx(15 / 16)
    assert score["head_agreement_per_param"]["materials"] == 0.5
    assert score["head_agreement_per_param"]["pose_rot"] == 1.0
    assert score["distinct_predictions"] == 2
    assert score["mean_hamming_between_predictions"] == 1.0


def test_controller_command_writes_policy_predictions_and_metrics(tmp_path, monkeypatch):
    x, rewards = _synthetic_problem(4, 20, seed=7)
    names = ["t0", "t1", "t2", "t3"]
    vectors = tmp_path / "vectors"
    vectors.mkdir()
    for name, row in zip(names, x.numpy(), strict=True):
        np.save(vectors / f"{name}.npy", row.astype(np.float32))
    (tmp_path / "rewards.json").write_text(json.dumps(_table(rewards.numpy(), names)))
    params = {
        "seed": 0,
        "tasks": {n: {"source": "digits"} for n in names},
        "controller": {
            "seen": names[:3],
            "unseen": names[3:],
            "training": {"epochs": 30, "hidden": 16},
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert main(["controller", "--rewards", "rewards.json", "--vectors", "vectors"]) == 0
    out = tmp_path / "results" / "controller"
    predictions = json.loads((out / "predictions.json").read_text())
    assert set(predictions) == set(names) and predictions["t3"]["role"] == "unseen"
    entry = predictions["t0"]
    assert entry["key"] == index_to_key(entry["config"])
    assert list(entry["prob_on"]) == sorted(PARAM_NAMES)  # JSON keys are sorted
    assert all(0 <= p <= 1 for p in entry["prob_on"].values())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seen"]["oracle"] >= metrics["seen"]["reward"]
    state = torch.load(out / "policy.pt", weights_only=True)
    assert state["fc1.weight"].shape == (16, 20)

    assert main(["controller", "--rewards", "missing.json"]) == 2
